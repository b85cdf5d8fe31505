"""App profiles from an intent: "I need an app that predicts network load from hourly counters" -> AppProfile.

The profile says what the platform would build for that app: the task (classification,
regression, forecasting or anomaly detection), what it predicts from what, the metric it is
judged by, the resources, when it retrains and what its monitoring watches. It is read from the
sentence (English or French) with the same slots as the planner, validated by pydantic, drawn
as a graph (`to_dot`, graphviz's language) and editable before anything is built.
"""

from __future__ import annotations

import re

from rakuten_mlops.apps.profile import METRICS, AppProfile, Monitoring, Resources, Task
from rakuten_mlops.assistant import slots

_FORECAST = r"\b(forecast\w*|prevo\w*|prevision\w*|predict\w* (?:the )?(?:future|next)|demain|next (?:day|week|hour))\b"
_ANOMALY = r"\b(anomal\w*|outliers?|unusual|inhabituel\w*|aberrant\w*|intrusion\w*)\b"
_DETECT = r"\b(detect\w*|flag\w*|spot\w*|fraud\w*|detecte\w*|signale\w*|repere\w*|fraude\w*)\b"
_CLASSES = r"\b(whether|which|si |quels?|quelles?|will (?:churn|leave|buy|click)|churn\w*|yes or no|category|categorie|type)\b"
_AMOUNT = r"\b(load|volume|price|prix|amount|montant|count|nombre|sales|ventes|demand|demande|time|temps|duree|delai|consumption|consommation|charge|usage|use|energy|energie|revenue|chiffre|temperature|level|niveau)\b"
_WHAT = re.compile(
    r"\b(?:predicts?|predicting|forecasts?|forecasting|estimates?|estimating|detects?|detecting|flags?|flagging"
    r"|tells? me|predire|predit|prevoit|prevoir|estime|detecte|signale)\s+"
    r"(?:the |a |an |le |la |les |l |des |un |une |si |whether |which |quels? |quelles? )?(?P<what>.+?)"
    r"(?:\s+(?:from|using|based on|with|a partir d\w*|avec|grace aux?|selon)\s+(?P<inputs>.+?))?[.!?]*$"
)


def _slug(text: str) -> str:
    words = re.findall(r"[a-z0-9]+", slots.fold(text))
    stop = {
        "the",
        "a",
        "an",
        "of",
        "le",
        "la",
        "les",
        "l",
        "des",
        "de",
        "du",
        "un",
        "une",
        "will",
        "va",
        "vont",
    }
    return "-".join(w for w in words if w not in stop)[:40].strip("-") or "app"


def design(intent: str) -> AppProfile:
    """The profile an intent describes; a DataError-free best reading, to be shown and edited."""
    text = slots.fold(intent.strip())
    found = _WHAT.search(text)
    what = (found["what"] if found else text).strip()
    inputs_text = (found["inputs"] if found and found["inputs"] else "").strip()
    if re.search(_FORECAST, text):
        task: Task = "forecasting"
    elif re.search(_ANOMALY, text):
        task = "anomaly_detection"
    elif re.search(_DETECT, text) or (re.search(_CLASSES, text) and not re.search(_AMOUNT, what)):
        task = "classification"
    else:
        task = "regression" if re.search(_AMOUNT, what) else "classification"
    if who := re.search(r"\b(?:which|what|quels?|quelles?)\s+[a-z]+\s+(?:will|vont|va)\s+([a-z]+)", text):
        target = who.group(1)  # "which customers will churn" -> churn (yes or no)
    else:
        target = (
            re.sub(r"\b(?:every|each|chaque|tous les|toutes les)\b.*$", "", what.split(",")[0]).strip()
            or what
        )
    inputs = [part.strip() for part in re.split(r",| and | et ", inputs_text) if part.strip()] or [
        "a table you upload"
    ]
    hourly = re.search(r"\b(hourly|per hour|horaires?|par heure)\b", text)
    daily = re.search(r"\b(daily|per day|quotidien\w*|journali\w*|par jour)\b", text)
    retrain = "0 2 * * *" if hourly else "0 2 * * 1" if daily else None
    asked = re.search(r"\b(retrain\w*|reentrain\w*|every|each|chaque|tous les|toutes les)\b", text)
    # Read from the retraining words on: "hourly counters" before them describe the data, not a schedule.
    found_schedule = slots.schedule(text[asked.start() :]) if asked else None
    gpu = bool(re.search(r"\b(image\w*|photo\w*|video\w*|gpu|deep|neural|neurones?)\b", text))
    return AppProfile(
        name=_slug(target),
        intent=intent.strip(),
        task=task,
        target=target,
        inputs=inputs,
        outputs=[
            f"{target} ({'probability' if task in {'classification', 'anomaly_detection'} else 'value'})"
        ],
        data_source="a dataset of the workbench (upload a CSV, Excel or Parquet file)",
        metric=METRICS[task],
        resources=Resources(cpu=4 if gpu else 2, memory_gb=16.0 if gpu else 4.0, gpu=gpu),
        retrain_cron=found_schedule.cron if found_schedule else retrain,
        monitoring=Monitoring(check_cron="0 * * * *" if hourly else "0 9 * * *"),
    )


def to_dot(profile: AppProfile) -> str:
    """The profile as a graph: data -> inputs -> model -> outputs, with its schedule and monitoring."""

    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [
        "digraph app {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb"];',
    ]
    lines.append(f"  data [label={q('data: ' + profile.data_source)}];")
    model = f"{profile.task}\\n{profile.name}\\nmetric {profile.metric}"
    lines.append(f'  model [label="{model}", fillcolor="#d9e8ff"];')
    for i, name in enumerate(profile.inputs):
        lines.append(f"  in{i} [label={q(name)}];")
        lines.append(f"  data -> in{i}; in{i} -> model;")
    for i, name in enumerate(profile.outputs):
        lines.append(f'  out{i} [label={q(name)}, fillcolor="#e6f6ea"];')
        lines.append(f"  model -> out{i};")
    retrain = profile.retrain_cron or "on demand"
    lines.append(f"  schedule [label={q('retrain: ' + retrain)}, shape=note];")
    check = f"drift check {profile.monitoring.check_cron}, threshold {profile.monitoring.drift_threshold:g}"
    lines.append(f"  monitor [label={q(check)}, shape=note];")
    lines.append("  schedule -> model [style=dashed]; model -> monitor [style=dashed];")
    lines.append("}")
    return "\n".join(lines)
