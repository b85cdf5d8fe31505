"""Slot extraction in English and French: schedules in words, versions, ids, counts, quoted texts, options."""

from __future__ import annotations

import pytest

from rakuten_mlops.assistant import slots
from rakuten_mlops.errors import DataError
from rakuten_mlops.runs.schedules import preview


@pytest.mark.parametrize(
    ("request_text", "cron"),
    [
        ("retrain every day at 6am", "0 6 * * *"),
        ("run the monitoring daily at 18:30", "30 18 * * *"),
        ("schedule training every morning", "0 6 * * *"),
        ("tous les lundis à 2h", "0 2 * * 1"),
        ("entraîner chaque jour à 6h30", "30 6 * * *"),
        ("la surveillance tous les jours à 18h", "0 18 * * *"),
        ("retrain on Monday nights", "0 2 * * 1"),
        ("every friday at 7 pm", "0 19 * * 5"),
        ("every tuesday and thursday at 9", "0 9 * * 2,4"),
        ("weekdays at 9:15", "15 9 * * 1-5"),
        ("en semaine à 8h", "0 8 * * 1-5"),
        ("weekends at noon", "0 12 * * 0,6"),
        ("tous les jours à minuit", "0 0 * * *"),
        ("every 15 minutes", "*/15 * * * *"),
        ("toutes les 6 heures", "0 */6 * * *"),
        ("every hour", "0 * * * *"),
        ("toutes les heures", "0 * * * *"),
        ("weekly", "0 0 * * 1"),
        ("chaque semaine le dimanche à 3h", "0 3 * * 0"),
        ("monthly at 4am", "0 4 1 * *"),
        ("on the 15th of each month at 1am", "0 1 15 * *"),
        ("le 1er de chaque mois à 5h", "0 5 1 * *"),
        ("every day at 8 in the evening", "0 20 * * *"),
        ("tous les soirs à 9h du soir", "0 21 * * *"),
        ("use the cron 30 2 * * 1-5 for training", "30 2 * * 1-5"),
    ],
)
def test_a_schedule_in_words_becomes_a_cron(request_text: str, cron: str) -> None:
    found = slots.schedule(request_text)
    assert found is not None, request_text
    assert found.cron == cron
    assert len(preview(found.cron, "UTC", count=2)) == 2  # a cron the scheduler accepts


@pytest.mark.parametrize(
    "request_text",
    ["promote version 3", "every day", "train the model with 5000 rows", "tous les jours", "show alert 12"],
)
def test_no_schedule_or_no_hour_is_none_so_the_planner_asks(request_text: str) -> None:
    assert slots.schedule(request_text) is None


def test_a_written_cron_that_is_invalid_is_refused_by_name() -> None:
    with pytest.raises(DataError, match="invalid cron '61 2 \\* \\* \\*'"):
        slots.schedule("use 61 2 * * * please")


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [("promote version 3", "3"), ("promouvoir la version n°12", "12"), ("roll back to v7", "7"),
     ("what is the champion?", None)],
)  # fmt: skip
def test_versions(request_text: str, expected: str | None) -> None:
    assert slots.version(request_text) == expected


def test_ids_counts_and_quoted_texts() -> None:
    assert slots.alert_id("acknowledge alert 12") == 12
    assert slots.alert_id("acquitter l'alerte n°4") == 4
    assert slots.alert_id("list the alerts") is None
    run = "0b6f2c7e-9d7c-4c4f-8f8f-0e2a9d1b3c5e"
    assert slots.run_id(f"cancel run {run.upper()}") == run
    assert slots.count("ingest 5000 rows") == 5000
    assert slots.count("ingérer 5 000 lignes") == 5000
    assert slots.count("load 2,000 listings") == 2000
    assert slots.count("generate 5k products") == 5000
    assert slots.count("promote version 3") is None
    assert slots.quoted('classify "Jeu PS4 Fifa 22" with "football"') == ["Jeu PS4 Fifa 22", "football"]
    assert slots.quoted("pourquoi « Piscine tubulaire » est-elle classée ainsi ?") == ["Piscine tubulaire"]
    assert slots.quoted("why was “Manette PS4” put there") == ["Manette PS4"]
    assert slots.quoted("l'annonce n'a pas de guillemets") == []


def test_trainers_search_modes_and_options() -> None:
    assert slots.trainer("train with PyTorch") == "torch"
    assert slots.trainer("entraîner un réseau de neurones") == "torch"
    assert slots.trainer("train the scikit-learn model") == "sklearn"
    assert slots.trainer("train a model") is None
    assert slots.search_mode("train without the search") == "off"
    assert slots.search_mode("a full search please") == "full"
    assert slots.search_mode("une recherche rapide") == "quick"
    assert slots.search_mode("train") is None
    assert slots.promote("train but don't promote it") is False
    assert slots.promote("entraîner sans promotion") is False
    assert slots.promote("train and promote") is True
    assert slots.promote("train") is None
    assert slots.drift("ingest 2000 rows with drift") is True
    assert slots.drift("ingérer des données avec dérive") is True
    assert slots.drift("ingest without drift") is False
    assert slots.drift("ingest 2000 rows") is None


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [("retrain every monday", "training-pipeline"), ("planifier l'entraînement", "training-pipeline"),
     ("move the daily drift check to 6am", "monitor-and-retrain"), ("la surveillance à 7h", "monitor-and-retrain"),
     ("schedule the ingest at night", "ingest"), ("every day at 6", None)],
)  # fmt: skip
def test_the_workflow_a_schedule_is_for(request_text: str, expected: str | None) -> None:
    assert slots.workflow(request_text) == expected
