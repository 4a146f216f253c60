"""Amounts in Russian words for printed documents ("сумма прописью").

Roubles are spelled out, kopecks stay as two digits: "Сто двадцать три
рубля 45 копеек" is how Russian invoices and contracts write it. No
Flask request, so the printing sandbox can expose it as a filter and tests
need no app; typed amounts are read by services/values.
"""
from decimal import ROUND_HALF_UP, Context, Decimal

# One quadrillion roubles is far beyond any document; the bound also keeps a
# template from feeding an absurd Decimal (1E+999999) to the speller.
MAX_AMOUNT = Decimal(10**15)
# Fixed so that a caller's decimal context (precision, traps) cannot change
# the rounding.
_CTX = Context(prec=40, rounding=ROUND_HALF_UP)

_UNITS_M = ("", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять")
_UNITS_F = ("", "одна", "две") + _UNITS_M[3:]
_TEENS = (
    "десять", "одиннадцать", "двенадцать", "тринадцать", "четырнадцать",
    "пятнадцать", "шестнадцать", "семнадцать", "восемнадцать", "девятнадцать",
)
_TENS = (
    "", "", "двадцать", "тридцать", "сорок", "пятьдесят",
    "шестьдесят", "семьдесят", "восемьдесят", "девяносто",
)
_HUNDREDS = (
    "", "сто", "двести", "триста", "четыреста", "пятьсот",
    "шестьсот", "семьсот", "восемьсот", "девятьсот",
)
# (one, few, many) forms and whether the word is feminine ("одна тысяча").
_SCALES = (
    (("", "", ""), False),
    (("тысяча", "тысячи", "тысяч"), True),
    (("миллион", "миллиона", "миллионов"), False),
    (("миллиард", "миллиарда", "миллиардов"), False),
    (("триллион", "триллиона", "триллионов"), False),
)
ROUBLE = ("рубль", "рубля", "рублей")
KOPECK = ("копейка", "копейки", "копеек")


def plural(n, forms):
    """The form of a noun after the number ``n``: 1 рубль, 2 рубля, 5 рублей,
    11 рублей, 21 рубль."""
    n = abs(int(n))
    if n % 100 in range(11, 20):
        return forms[2]
    if n % 10 == 1:
        return forms[0]
    if n % 10 in (2, 3, 4):
        return forms[1]
    return forms[2]


def _triple(n, feminine):
    """Words for 1..999; gender matters for the last digit only."""
    words = [_HUNDREDS[n // 100]]
    tens, units = divmod(n % 100, 10)
    if tens == 1:
        words.append(_TEENS[units])
    else:
        words.append(_TENS[tens])
        words.append((_UNITS_F if feminine else _UNITS_M)[units])
    return [w for w in words if w]


def number_in_words(n, *, feminine=False):
    """A whole number 0 <= n < 10**15 in words, lower case."""
    if not 0 <= n < MAX_AMOUNT:
        raise ValueError(f"Число вне допустимого диапазона: {n}")
    if n == 0:
        return "ноль"
    words = []
    groups = []
    while n:
        n, group = divmod(n, 1000)
        groups.append(group)
    for scale in reversed(range(len(groups))):
        group = groups[scale]
        if not group:
            continue
        forms, scale_feminine = _SCALES[scale]
        words += _triple(group, scale_feminine if scale else feminine)
        if scale:
            words.append(plural(group, forms))
    return " ".join(words)


def to_decimal(value):
    """``value`` (Decimal, int, str or float) as a Decimal; floats go through
    ``repr`` so that 0.1 means 0.1; text is read as people type it
    («300 000,00», «14,5»: ``values.number``). Raises ValueError for
    anything else.

    Messages are Russian: the printing sandbox shows them to the user."""
    from app.services import values

    if isinstance(value, bool):
        raise ValueError("Не число: логическое значение")
    if isinstance(value, (float, Decimal)) and not Decimal(value).is_finite():
        raise ValueError(f"Не конечное число: {value!r}")
    try:
        return values.number(value)
    except values.ValidationError:
        raise ValueError(f"Не число: {value!r}") from None


def amount_in_words(amount):
    """Roubles in words and kopecks in digits, first letter capitalised:
    ``Decimal("1001.01")`` -> "Одна тысяча один рубль 01 копейка".

    Rounded half up to kopecks. Negative amounts and amounts of 10**15 or
    more raise ValueError: a document never spells a debt as "минус".
    """
    amount = to_decimal(amount)
    if amount < 0:
        raise ValueError("Сумма не может быть отрицательной")
    if amount >= MAX_AMOUNT:
        raise ValueError("Сумма слишком велика")
    kopecks_total = int(_CTX.multiply(amount.quantize(Decimal("0.01"), context=_CTX), 100))
    roubles, kopecks = divmod(kopecks_total, 100)
    if roubles >= MAX_AMOUNT:  # 999...999.995 rounds up past the bound
        raise ValueError("Сумма слишком велика")
    text = (
        f"{number_in_words(roubles)} {plural(roubles, ROUBLE)} "
        f"{kopecks:02d} {plural(kopecks, KOPECK)}"
    )
    return text[0].upper() + text[1:]
