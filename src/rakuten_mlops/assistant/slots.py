"""Slots of a request in English or French: the values a tool's arguments are filled from.

The built-in planner picks a tool from the request (`intents.py`); this module reads what the
arguments need from the same text: a schedule in words as a 5-field cron ("every day at 6am" ->
`0 6 * * *`, "tous les lundis à 2h" -> `0 2 * * 1`), a version, an alert or run id, a count of
rows, a quoted listing text, a trainer or search mode, yes/no options ("without promoting",
"avec dérive") and the workflow a schedule is for. Each reader returns None when the text does not
say, so the planner can ask instead of guessing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rakuten_mlops.runs.schedules import check_cron

WEEKDAYS = {
    # cron numbers: 0 is Sunday
    "sunday": 0, "sundays": 0, "dimanche": 0, "dimanches": 0,
    "monday": 1, "mondays": 1, "lundi": 1, "lundis": 1,
    "tuesday": 2, "tuesdays": 2, "mardi": 2, "mardis": 2,
    "wednesday": 3, "wednesdays": 3, "mercredi": 3, "mercredis": 3,
    "thursday": 4, "thursdays": 4, "jeudi": 4, "jeudis": 4,
    "friday": 5, "fridays": 5, "vendredi": 5, "vendredis": 5,
    "saturday": 6, "saturdays": 6, "samedi": 6, "samedis": 6,
}  # fmt: skip
WORKFLOWS = {
    "training-pipeline": ("train", "training", "retrain", "entrain", "reentrain", "apprentissage"),
    "monitor-and-retrain": ("monitor", "drift", "surveill", "derive", "controle", "check"),
    "ingest": ("ingest", "import", "chargement", "charger"),
}
NIGHT_HOUR = 2  # "on Monday nights", "la nuit": the quiet hours after midnight
MORNING_HOUR = 6
EVENING_HOUR = 20
_CRON = re.compile(r"(?<![\w*/,-])((?:[\d*/,-]+\s+){4}[\d*/,-]+)(?![\w*/,-])")
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|«\s*([^»]+?)\s*»|(?<!\w)'([^']+)'(?!\w)")
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


def fold(text: str) -> str:
    """Lower case without accents, apostrophes as spaces: "À 6h, l'entraînement" -> "a 6h, l entrainement"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"['’]", " ", plain)


@dataclass(frozen=True)
class Schedule:
    """A cron read from words, and the words it was read from."""

    cron: str
    said: str


# ------------------------------------------------------------------ times of day

_CLOCK = re.compile(
    r"(?:\b(?:at|a|vers|for|pour)\s+)?"
    r"\b(?P<hour>2[0-3]|[01]?\d)(?!\d)"
    r"(?:\s*(?::|h)\s*(?P<minute>[0-5]\d)|\s*(?P<h>h(?:eures?)?)(?!\w))?"
    r"\s*(?P<ampm>a\.?\s?m\.?|p\.?\s?m\.?)?(?!\s*(?:minutes?|min|hours?|heures?|rows|lignes|days?|jours?))"
)


def _time_of_day(text: str) -> tuple[int, int] | None:
    """(hour, minute) said in the text: 6am, 6 pm, 18:30, 18h30, 18h, midnight, noon, minuit, midi."""
    if re.search(r"\b(midnight|minuit)\b", text):
        return 0, 0
    if re.search(r"\b(noon|midday|midi)\b", text):
        return 12, 0
    for match in _CLOCK.finditer(text):
        hour, minute, ampm = int(match["hour"]), int(match["minute"] or 0), match["ampm"]
        said_as_time = match["minute"] is not None or match["h"] or ampm
        preceded = re.search(r"\b(at|a|vers)\s*$", text[: match.start("hour")])
        if not (said_as_time or preceded):
            continue  # a bare number (a count, a version) is not a time
        after = text[match.end() :][:25]
        if ampm:
            if hour > 12:
                continue
            hour = hour % 12 + (12 if ampm.startswith("p") else 0)
        elif hour < 12 and re.search(r"\b(evening|soir)\b", after):
            hour += 12  # "8 in the evening", "8h du soir"
        elif 7 <= hour < 12 and re.search(r"\b(night|nuit)\b", after):
            hour += 12  # "10 at night"; "2 at night" stays 2
        return hour, minute
    return None


def _part_of_day(text: str) -> int | None:
    if re.search(r"\b(nights?|nuits?|nocturne)\b", text):
        return NIGHT_HOUR
    if re.search(r"\b(mornings?|matins?|matinee)\b", text):
        return MORNING_HOUR
    if re.search(r"\b(evenings?|soirs?|soiree)\b", text):
        return EVENING_HOUR
    return None


# ------------------------------------------------------------------ schedules


def schedule(request: str) -> Schedule | None:
    """The schedule a request asks for, as a validated 5-field cron; None when it names none."""
    text = fold(request)
    literal = _CRON.search(text)
    if literal:
        return Schedule(check_cron(literal.group(1)), literal.group(1))
    if every := re.search(
        r"\b(?:every|toutes les|tous les|chaque)\s+(\d+)\s*(minutes?|min|hours?|heures?|h)\b", text
    ):
        step, unit = int(every.group(1)), every.group(2)
        if unit.startswith("min"):
            if not 1 <= step <= 59:
                return None
            return Schedule(check_cron(f"*/{step} * * * *"), every.group(0))
        if not 1 <= step <= 23:
            return None
        return Schedule(check_cron(f"0 */{step} * * *"), every.group(0))
    if m := re.search(r"\b(every|each) hour\b|\bhourly\b|\btoutes les heures\b|\bchaque heure\b", text):
        return Schedule("0 * * * *", m.group(0))
    when = _time_of_day(text)
    part = _part_of_day(text)
    hour, minute = when if when is not None else (part, 0) if part is not None else (None, 0)
    days = _weekdays(text)
    day_of_month = _day_of_month(text)
    daily = re.search(
        r"\b(every ?day|daily|each day|every (?:morning|evening|night)|nightly|tous les (?:jours|matins|soirs)"
        r"|chaque (?:jour|matin|soir|nuit)|toutes les nuits|quotidien(?:ne)?(?:ment)?)\b",
        text,
    )
    weekly = re.search(r"\b(weekly|every week|chaque semaine|toutes les semaines|hebdomadaire)\b", text)
    monthly = re.search(r"\b(monthly|every month|chaque mois|tous les mois|mensuel(?:le)?(?:ment)?)\b", text)
    if days is None and day_of_month is None and not (daily or weekly or monthly):
        return None
    if hour is None:
        hour = 0 if (monthly or weekly or days) else None
        if hour is None:
            return None  # "every day" without a time: ask which hour
    weekday = "*" if days is None else days
    if weekly and days is None:
        weekday = "1"  # a week starts on Monday
    dom = "*"
    if monthly or day_of_month is not None:
        dom = str(day_of_month or 1)
    cron = check_cron(f"{minute} {hour} {dom} * {weekday}")
    return Schedule(cron, request.strip())


def _weekdays(text: str) -> str | None:
    if re.search(r"\b(weekdays|week days|working days|en semaine|jours ouvres|jours de semaine)\b", text):
        return "1-5"
    if re.search(r"\b(weekends?|week-ends?)\b", text):
        return "0,6"
    found = sorted({n for word, n in WEEKDAYS.items() if re.search(rf"\b{word}\b", text)})
    return ",".join(map(str, found)) if found else None


def _day_of_month(text: str) -> int | None:
    m = re.search(
        r"\b(?:on the |le )?(\d{1,2})(?:st|nd|rd|th|er)?\s+(?:of (?:each|every) month|de chaque mois|du mois)",
        text,
    )
    if m and 1 <= int(m.group(1)) <= 31:
        return int(m.group(1))
    return None


# ------------------------------------------------------------------ the other slots


def version(request: str) -> str | None:
    """A model version: "version 3", "v3", "la version 3", "version n°3"."""
    m = re.search(r"\b(?:version|v)\s*(?:n[o°]\s*)?#?(\d+)\b", fold(request))
    return m.group(1) if m else None


def alert_id(request: str) -> int | None:
    """An alert's id: "alert 12", "alerte n°12", "alert #12"."""
    m = re.search(r"\b(?:alert|alerte)s?\s*(?:n[o°]\s*|#\s*|id\s*)?(\d+)\b", fold(request))
    return int(m.group(1)) if m else None


def run_id(request: str) -> str | None:
    """A flow run's id (a UUID)."""
    m = _UUID.search(request.lower())
    return m.group(0) if m else None


def count(
    request: str,
    units: tuple[str, ...] = (
        "rows",
        "row",
        "lignes",
        "ligne",
        "listings",
        "annonces",
        "produits",
        "products",
        "predictions",
    ),
) -> int | None:
    """A count of rows: "5000 rows", "5 000 lignes", "5k listings", "2,000 products"."""
    text = fold(request)
    words = "|".join(units)
    m = re.search(
        rf"\b(\d{{1,3}}(?:[ ,.\u202f]\d{{3}})+|\d+)\s*(k)?(?:\s+[a-z]+){{0,2}}?\s*(?:{words})\b", text
    )
    if not m:
        return None
    value = int(re.sub(r"[ ,.\u202f]", "", m.group(1)))
    if m.group(2) == "k":
        value *= 1_000
    return value


def quoted(request: str) -> list[str]:
    """Texts between quotes ("…", “…”, « … », '…'), in order."""
    return [next(g for g in m.groups() if g is not None).strip() for m in _QUOTED.finditer(request)]


def trainer(request: str) -> str | None:
    """`torch` for PyTorch or a neural network, `sklearn` for scikit-learn or a linear model."""
    text = fold(request)
    if re.search(r"\b(torch|pytorch|neural|neurones?|reseau de neurones|mlp)\b", text):
        return "torch"
    if re.search(r"\b(sklearn|scikit(?:-learn)?|linear|lineaire|logisti\w*)\b", text):
        return "sklearn"
    return None


def search_mode(request: str) -> str | None:
    """`off` (a fixed model), `quick` or `full` search of the candidates."""
    text = fold(request)
    if re.search(r"\b(no search|without (?:the )?search|sans recherche|fixed model|modele fixe)\b", text):
        return "off"
    if re.search(
        r"\b(full|complete|exhaustive|thorough)\s+(search|recherche)\b|\brecherche (complete|exhaustive)\b",
        text,
    ):
        return "full"
    if re.search(r"\b(quick|fast|rapide)\s*(search|recherche)?\b|\brecherche rapide\b", text):
        return "quick"
    return None


def promote(request: str) -> bool | None:
    """False for "without promoting", "don't promote", "sans promotion"; True when asked to promote."""
    text = fold(request)
    if re.search(
        r"\b(without promot\w*|don t promote|do not promote|no[- ]promot\w*|sans (?:le )?promo\w*|ne pas promouvoir"
        r"|pas de promotion)\b",
        text,
    ):
        return False
    if re.search(
        r"\b(and promote|then promote|promote it|et (?:le )?promouvoir|puis promouvoir|auto-?promot\w*)\b",
        text,
    ):
        return True
    return None


def drift(request: str) -> bool | None:
    """True for shifted data ("with drift", "avec dérive", "drifted"), False for "without drift"."""
    text = fold(request)
    if re.search(r"\b(without drift|no drift|sans derive)\b", text):
        return False
    if re.search(r"\b(with drift|drifted|shifted|avec (?:de la )?derive|decale\w*)\b", text):
        return True
    return None


def workflow(request: str) -> str | None:
    """The deployment's flow a request is about: training-pipeline, monitor-and-retrain or ingest."""
    text = fold(request)
    for name, stems in WORKFLOWS.items():
        if name in text or any(re.search(rf"\b{stem}", text) for stem in stems):
            return name
    return None
