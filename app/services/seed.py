"""Default values of the dictionaries, in Russian, for a fresh installation.

A dictionary is filled only while it is empty: once it has a single row it
belongs to the admin, and re-running ``flask sdelka init`` after an upgrade
never brings back a value the admin deleted or renamed."""
import hashlib
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from app.models import (
    ActionResult,
    ActionType,
    ClientOrigin,
    ClientStatus,
    ClientType,
    Currency,
    DocumentTemplate,
    FunnelStage,
    LoanPurpose,
    MailingType,
    MarketSegment,
    Product,
    RefusalReason,
    Region,
    StatusKind,
    Tag,
    TaskStatus,
    TaskType,
    Tax,
    TemplateEntity,
)

# In the order lists and drop-downs show them (sort_order follows it).
# Colours are pale so that rows coloured by them stay readable.
TASK_STATUSES = (
    # name, colour, kind, takes start and end dates
    ("В работе", "#d9edf7", StatusKind.OPEN, False),
    ("Завершена", "#c8e6c9", StatusKind.DONE, True),
    ("Отказ", "#f4c7c3", StatusKind.REFUSED, False),
    ("Встреча", "#fff3c4", StatusKind.OPEN, True),
    ("Недозвон", "#e6e6e6", StatusKind.OPEN, False),
    ("Переговоры", "#ffe0b2", StatusKind.OPEN, True),
    ("Условный отказ", "#f8d7e8", StatusKind.REFUSED, False),
    ("Брак: не актуально", "#d5d5d5", StatusKind.JUNK, False),
    ("Брак: не тот регион", "#d5d5d5", StatusKind.JUNK, False),
    ("Брак: дубль", "#d5d5d5", StatusKind.JUNK, False),
)

# Five stages, each with the probability of closing the deal.
FUNNEL_STAGES = (
    ("Потенциальный клиент", 10),
    ("Звонок", 20),
    ("Коммерческое предложение", 40),
    ("Встреча", 60),
    ("Договор", 90),
)

# The 89 subjects of the Russian Federation with the codes of the tax service
# (the first two digits of an INN), which also number the list.
REGIONS = (
    ("01", "Республика Адыгея"),
    ("02", "Республика Башкортостан"),
    ("03", "Республика Бурятия"),
    ("04", "Республика Алтай"),
    ("05", "Республика Дагестан"),
    ("06", "Республика Ингушетия"),
    ("07", "Кабардино-Балкарская Республика"),
    ("08", "Республика Калмыкия"),
    ("09", "Карачаево-Черкесская Республика"),
    ("10", "Республика Карелия"),
    ("11", "Республика Коми"),
    ("12", "Республика Марий Эл"),
    ("13", "Республика Мордовия"),
    ("14", "Республика Саха (Якутия)"),
    ("15", "Республика Северная Осетия — Алания"),
    ("16", "Республика Татарстан"),
    ("17", "Республика Тыва"),
    ("18", "Удмуртская Республика"),
    ("19", "Республика Хакасия"),
    ("20", "Чеченская Республика"),
    ("21", "Чувашская Республика"),
    ("22", "Алтайский край"),
    ("23", "Краснодарский край"),
    ("24", "Красноярский край"),
    ("25", "Приморский край"),
    ("26", "Ставропольский край"),
    ("27", "Хабаровский край"),
    ("28", "Амурская область"),
    ("29", "Архангельская область"),
    ("30", "Астраханская область"),
    ("31", "Белгородская область"),
    ("32", "Брянская область"),
    ("33", "Владимирская область"),
    ("34", "Волгоградская область"),
    ("35", "Вологодская область"),
    ("36", "Воронежская область"),
    ("37", "Ивановская область"),
    ("38", "Иркутская область"),
    ("39", "Калининградская область"),
    ("40", "Калужская область"),
    ("41", "Камчатский край"),
    ("42", "Кемеровская область — Кузбасс"),
    ("43", "Кировская область"),
    ("44", "Костромская область"),
    ("45", "Курганская область"),
    ("46", "Курская область"),
    ("47", "Ленинградская область"),
    ("48", "Липецкая область"),
    ("49", "Магаданская область"),
    ("50", "Московская область"),
    ("51", "Мурманская область"),
    ("52", "Нижегородская область"),
    ("53", "Новгородская область"),
    ("54", "Новосибирская область"),
    ("55", "Омская область"),
    ("56", "Оренбургская область"),
    ("57", "Орловская область"),
    ("58", "Пензенская область"),
    ("59", "Пермский край"),
    ("60", "Псковская область"),
    ("61", "Ростовская область"),
    ("62", "Рязанская область"),
    ("63", "Самарская область"),
    ("64", "Саратовская область"),
    ("65", "Сахалинская область"),
    ("66", "Свердловская область"),
    ("67", "Смоленская область"),
    ("68", "Тамбовская область"),
    ("69", "Тверская область"),
    ("70", "Томская область"),
    ("71", "Тульская область"),
    ("72", "Тюменская область"),
    ("73", "Ульяновская область"),
    ("74", "Челябинская область"),
    ("75", "Забайкальский край"),
    ("76", "Ярославская область"),
    ("77", "Москва"),
    ("78", "Санкт-Петербург"),
    ("79", "Еврейская автономная область"),
    ("83", "Ненецкий автономный округ"),
    ("86", "Ханты-Мансийский автономный округ — Югра"),
    ("87", "Чукотский автономный округ"),
    ("89", "Ямало-Ненецкий автономный округ"),
    ("90", "Запорожская область"),
    ("91", "Республика Крым"),
    ("92", "Севастополь"),
    ("93", "Донецкая Народная Республика"),
    ("94", "Луганская Народная Республика"),
    ("95", "Херсонская область"),
)

# name, rate, no VAT at all; the first is a new company's default
# (the standard rate since 1 January 2026), the 5 % and 7 % ones are of the
# simplified system (УСН).
TAXES = (("НДС 22 %", 22, False), ("НДС 10 %", 10, False), ("НДС 0 %", 0, False),
         ("НДС 5 % (УСН)", 5, False), ("НДС 7 % (УСН)", 7, False), ("Без НДС", 0, True))
STANDARD_TAX = TAXES[0][0]

# name, ISO code, rate in roubles, is the base currency
CURRENCIES = (
    ("Российский рубль", "RUB", "1", True),
    ("Доллар США", "USD", "80.00", False),
    ("Евро", "EUR", "93.00", False),
    ("Китайский юань", "CNY", "11.20", False),
)

TAGS = (("VIP", "#d4a017"), ("Новый", "#28a745"), ("Повторный", "#337ab7"))

# name, price, unit
PRODUCTS = (
    ("Консультация", "5000.00", "услуга"),
    ("Сопровождение сделки", "15000.00", "услуга"),
)
PLAIN = {
    TaskType: ("Звонок", "Встреча", "Договор", "Письмо"),
    ClientStatus: ("Потенциальный", "В работе", "Постоянный", "Неактивный"),
    ClientType: ("Покупатель", "Поставщик", "Партнёр", "Конкурент"),
    ClientOrigin: ("Сайт", "Входящий звонок", "Рекомендация", "Реклама", "Выставка",
                   "Email-рассылка"),
    MarketSegment: ("Розничные покупатели", "Оптовые покупатели",
                    "Корпоративные клиенты"),
    LoanPurpose: ("Потребительский кредит", "Ипотека", "Автокредит",
                  "Рефинансирование", "Кредит на бизнес"),
    RefusalReason: ("Дорого", "Выбрали конкурента", "Нет потребности",
                    "Не дозвонились", "Отказ банка"),
    ActionType: ("Звонок", "Отправка документов", "Встреча", "Письмо"),
    MailingType: ("Новости компании", "Акции и спецпредложения",
                  "Приглашения на мероприятия"),
}

# Each action has its own results ("Отправить" → договор, письмо,
# счёт, коммерческое предложение).
ACTION_RESULTS = {
    "Звонок": ("Дозвонились", "Не дозвонились", "Перезвонить позже"),
    "Отправка документов": ("Договор", "Письмо", "Счёт", "Коммерческое предложение"),
    "Встреча": ("Состоялась", "Перенесена", "Отменена"),
    "Письмо": ("Отправлено", "Получен ответ"),
}


def _rows(session):
    """(model, [new rows]) of every dictionary, in the order they are filled
    (taxes before the products that refer to them)."""
    for model, names in PLAIN.items():
        yield model, [model(name=name) for name in names]
    yield TaskStatus, [TaskStatus(name=name, color=color, kind=kind, takes_dates=dates)
                       for name, color, kind, dates in TASK_STATUSES]
    yield FunnelStage, [FunnelStage(name=name, probability=p) for name, p in FUNNEL_STAGES]
    yield Region, [Region(name=name, code=code, sort_order=int(code))
                   for code, name in REGIONS]
    yield Tax, [Tax(name=name, rate=Decimal(rate), is_exempt=exempt)
                for name, rate, exempt in TAXES]
    yield Currency, [Currency(name=name, code=code, rate=Decimal(rate), is_base=base)
                     for name, code, rate, base in CURRENCIES]
    yield Tag, [Tag(name=name, color=color) for name, color in TAGS]
    # Without a tax of their own: an invoice line takes the company's
    # default rate.
    yield Product, [Product(name=name, price=Decimal(price), unit=unit)
                    for name, price, unit in PRODUCTS]
    types = {t.name: t for t in session.scalars(select(ActionType))}
    # By id: through the relationship each new result joined its type's
    # collection at once, and SQLAlchemy warned when the results were
    # already seeded and the new ones were dropped.
    yield ActionResult, [ActionResult(name=name, action_type_id=types[type_name].id)
                         for type_name, names in ACTION_RESULTS.items()
                         if type_name in types for name in names]


def seed_dictionaries(session):
    """Fill every empty dictionary with its defaults (the caller commits).
    Returns the models that were filled; a dictionary with any row is left
    alone."""
    filled = []
    for model, rows in _rows(session):
        if session.scalar(select(func.count()).select_from(model)):
            continue
        for position, row in enumerate(rows, start=1):
            if row.sort_order is None:
                row.sort_order = position * 10  # gaps leave room to insert
            row.is_active = True
        session.add_all(rows)
        session.flush()
        filled.append(model)
    seed_templates(session)
    return filled


SEED_TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "seed_templates"
# code, name, entity, file in app/seed_templates/
TEMPLATES = (
    ("loan_agreement", "Кредитный договор", TemplateEntity.APPLICATION, "loan_agreement.html"),
    ("invoice", "Счёт на оплату", TemplateEntity.INVOICE, "invoice.html"),
    ("commercial_offer", "Коммерческое предложение", TemplateEntity.DEAL,
     "commercial_offer.html"),
    ("act", "Акт выполненных работ (оказанных услуг)", TemplateEntity.ACT, "act.html"),
    ("upd", "Универсальный передаточный документ (УПД)", TemplateEntity.UPD, "upd.html"),
)


# The first 16 hex digits of the SHA-256 of every earlier shipped text of a
# built-in template: a row still holding one of them was never edited, and
# seeding brings it up to the current file.
EARLIER_TEMPLATES = {
    "loan_agreement": {"cd970271d00bfe07"},
    "invoice": {"91f5d9b5c744c226", "816dfd2d5c24af76", "e5c8b3765c3bc397",
                "02f728d2fa2b417a"},
    "commercial_offer": {"2a396638e55c5688"},
    "upd": {"10c3112b8e6d735d", "1d12c460b163e2e0"},
    "act": {"ce0e4fa769e7b2af"},
}


def _digest(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def seed_templates(session):
    """Add each built-in document template whose code is not in the table
    yet (the code is unique, so seeding twice adds nothing), and bring a
    built-in one that nobody edited (its text is an earlier shipped one) up
    to the current file; an edited text is left alone. A built-in template
    cannot be deleted, only deactivated, so the admin's choice survives
    re-seeding. Returns the codes added."""
    present = {row.code: row for row in session.scalars(
        select(DocumentTemplate).where(DocumentTemplate.code.is_not(None)))}
    added = []
    for code, name, entity, filename in TEMPLATES:
        body = (SEED_TEMPLATES_DIR / filename).read_text(encoding="utf-8")
        row = present.get(code)
        if row is not None:
            if row.body != body and _digest(row.body or "") in EARLIER_TEMPLATES.get(code, ()):
                row.body = body
            continue
        session.add(DocumentTemplate(code=code, name=name, entity=entity, body=body,
                                     is_active=True))
        added.append(code)
    session.flush()
    return added
