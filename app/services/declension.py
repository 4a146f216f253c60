"""Russian words in the genitive case for printed documents: «в лице
Генерального директора Иванова Ивана Ивановича», and the gender a
contract's wording agrees with («действующего» / «действующей»).

Rules, not a dictionary: they cover the positions and the names a Russian
office types (surnames in -ов/-ин/-ский, names and patronymics of the usual
patterns). A word that matches no rule is left as typed — indeclinable
surnames (Черных, Бондаренко, Ткач for a woman) and foreign names stay as
they are, which is also what Russian grammar wants of most of them. A
template author who needs another wording types it into the template.

Pure standard library, no Flask: the printing sandbox exposes these as
filters (``genitive``, ``name_genitive``, ``initials``).
"""
import re

MALE, FEMALE = "male", "female"

_HUSHING = "гкхжшчщ"  # after these a noun's -а becomes -и, not -ы
_WORD = re.compile(r"([A-Za-zА-Яа-яЁё]+)")
_NAME_WORD = re.compile(r"[A-ZА-ЯЁ][a-zа-яё]+(?:-[A-ZА-ЯЁ][a-zа-яё]+)?")
# Male first names that end in -а/-я, and names with a fleeting vowel.
_MALE_IN_A = frozenset({"никита", "илья", "кузьма", "фома", "лука", "савва", "данила",
                        "гаврила", "емельян", "михайла", "добрыня", "иона", "аникита"})
_FIRST_NAME_GENITIVE = {"пётр": "петра", "петр": "петра", "павел": "павла", "лев": "льва"}


def _keep_case(model, word):
    """``word`` written with the capitals of ``model`` (first letter or all)."""
    if model.isupper() and len(model) > 1:
        return word.upper()
    if model[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def _a_ending(stem):
    """The genitive ending of a noun in -а/-я after ``stem``: -и after a
    hushing or velar consonant, else -ы."""
    return "и" if stem[-1:] in _HUSHING else "ы"


def _noun(word, female=False):
    """A noun or a first name in the genitive, or None when no rule applies."""
    low = word.lower()
    if low in _FIRST_NAME_GENITIVE:
        return _FIRST_NAME_GENITIVE[low]
    if low.endswith("ия"):
        return low[:-1] + "и"
    if low.endswith("я"):
        return low[:-1] + "и"
    if low.endswith("а"):
        return low[:-1] + _a_ending(low[:-1])
    if female:
        return low[:-1] + "и" if low.endswith("ь") else None
    if low.endswith(("й", "ь")):
        return low[:-1] + "я"
    if low[-1:] in "бвгджзклмнпрстфхцчшщ":
        return low + "а"
    return None


def _adjective(word):
    """A masculine adjective (or participle) in the genitive, or None."""
    low = word.lower()
    if low.endswith(("ый", "ой")):
        return low[:-2] + "ого"
    if low.endswith("ий"):
        stem = low[:-2]
        # Горький, Высоцкий, Управляющий: -ого/-его by the stem's consonant.
        return stem + ("ого" if stem[-1:] in "гкх" else "его")
    return None


def _feminine_adjective(word):
    low = word.lower()
    if low.endswith("ая"):
        return low[:-2] + "ой"
    if low.endswith("яя"):
        return low[:-2] + "ей"
    return None


def genitive(text):
    """A position in the genitive: «Генеральный директор» → «Генерального
    директора», «Председатель правления» → «Председателя правления»,
    «Индивидуальный предприниматель» → «Индивидуального предпринимателя».
    The leading adjectives and the first noun change; the rest (already in
    its case: «правления», «по развитию») stays. Empty or None → ""."""
    if not text:
        return ""
    parts = _WORD.split(str(text))
    done = False
    for index in range(1, len(parts), 2):  # the words; odd indexes after split
        word = parts[index]
        following = parts[index + 1] if index + 1 < len(parts) else ""
        if done:
            break
        if following.startswith("."):  # an abbreviation (И.о.): nothing to change
            done = True
            continue
        adjective = _adjective(word)
        if adjective is not None:
            parts[index] = _keep_case(word, adjective)
            continue
        noun = _noun(word)
        if noun is not None:
            parts[index] = _keep_case(word, noun)
        done = True
    return "".join(parts)


def gender(full_name):
    """MALE or FEMALE by the patronymic («…вич» / «…вна», «оглы» / «кызы»),
    else by the first name's ending; "" when it cannot be told."""
    words = [w.lower() for w in _WORD.findall(str(full_name or ""))]
    for word in reversed(words):
        if word.endswith("ич") or word == "оглы":
            return MALE
        if word.endswith(("вна", "чна", "шна")) or word == "кызы":
            return FEMALE
    if len(words) >= 2:
        first = words[1]
        if first in _MALE_IN_A:
            return MALE
        if first.endswith(("а", "я")):
            return FEMALE
        if first[-1:] in "бвгджзклмнпрстфхцчшщй":
            return MALE
    return ""


def _surname(word, sex):
    low = word.lower()
    if sex == FEMALE:
        if low.endswith(("ова", "ева", "ёва", "ина", "ына")):
            return low[:-1] + "ой"
        adjective = _feminine_adjective(low)
        if adjective is not None:
            return adjective
        if low.endswith(("а", "я")) and not low.endswith(("иа", "уа", "оа", "еа")):
            return _noun(low, female=True)
        return None  # Ткач, Шевчук, Черных, Бондаренко: not declined for a woman
    if low.endswith(("ых", "их", "ко", "аго", "яго")) or low[-1:] in "оеиуюыэ":
        return None  # Черных, Бондаренко, Живаго, Гюго
    if low.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return low + "а"
    adjective = _adjective(low)
    if adjective is not None:
        return adjective
    return _noun(low)


def _patronymic(word, sex):
    low = word.lower()
    if low.endswith("ич"):
        return low + "а"
    if low.endswith("на"):
        return low[:-1] + "ы"
    return None


def name_genitive(full_name):
    """«Иванов Иван Иванович» → «Иванова Ивана Ивановича», «Петрова Анна
    Сергеевна» → «Петровой Анны Сергеевны», «Иванов И. И.» → «Иванова И. И.».
    The order is surname, name, patronymic, as Russian documents write it;
    initials stay. Empty or None → ""."""
    if not full_name:
        return ""
    text = str(full_name)
    sex = gender(text)
    parts = _WORD.split(text)
    position = 0  # 0 surname, 1 first name, 2 patronymic
    for index in range(1, len(parts), 2):
        word = parts[index]
        following = parts[index + 1] if index + 1 < len(parts) else ""
        if following.startswith(".") or len(word) == 1:  # an initial
            position += 1
            continue
        if following.startswith("-") and position == 0:
            changed = _surname(word, sex)  # a double surname: each part declines
        elif position == 0:
            changed = _surname(word, sex)
            position = 1
        elif position == 1:
            changed = _noun(word, female=sex == FEMALE)
            position = 2
        else:
            changed = _patronymic(word, sex)
            position += 1
        if changed is not None:
            parts[index] = _keep_case(word, changed)
    return "".join(parts)


def initials(full_name):
    """«Иванов Иван Иванович» → «Иванов И. И.» (for signatures, with no-break
    spaces); a single word, or what is not a person's name, stays as it is.
    Empty or None → ""."""
    words = str(full_name or "").split()
    if not 2 <= len(words) <= 3 or not all(_NAME_WORD.fullmatch(w) for w in words):
        return " ".join(words)  # one word, initials already, or not a person's name
    # No-break spaces: a line never ends between the surname and an initial.
    return "\u00a0".join([words[0]] + [w[0].upper() + "." for w in words[1:3]])
