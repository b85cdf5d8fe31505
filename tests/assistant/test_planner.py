"""The built-in planner on requests written apart from its training examples, in English and French.

Each request names the tool it should plan and the arguments it must carry (those not named must
be absent); `None` means the planner should ask instead. The share planned right is printed and
must stay at 90% or more (the goal of the assistant issue).
"""

from __future__ import annotations

from typing import Any

import pytest

from rakuten_mlops.assistant.planner import Known, plan
from rakuten_mlops.assistant.tools import BY_NAME, TOOLS

RUN = "5c1d1f8e-2a3b-4c5d-8e9f-0a1b2c3d4e5f"
KNOWN = Known(datasets=("churn", "sales-2026", "diabetes"), models=("rakuten-classifier", "churn-churned"))
Case = tuple[str, str | None, dict[str, Any] | None]
CASES: list[Case] = [
    # system_status
    ("is the platform healthy?", "system_status", {}),
    ("check that all services are up", "system_status", {}),
    ("is the prediction api running", "system_status", {}),
    ("la plateforme est-elle en bonne santé ?", "system_status", {}),
    ("est-ce que tous les services sont démarrés", "system_status", {}),
    ("l'API de prédiction tourne ?", "system_status", {}),
    # list_models
    ("what versions are in the registry", "list_models", {}),
    ("show me every registered model", "list_models", {}),
    ("list the versions of churn-churned", "list_models", {"model": "churn-churned"}),
    ("montre tous les modèles enregistrés", "list_models", {}),
    ("quelles versions sont dans le registre", "list_models", {}),
    ("liste les versions de churn-churned", "list_models", {"model": "churn-churned"}),
    # model_details
    ("which version is the champion right now", "model_details", {}),
    ("show the metrics of version 2", "model_details", {"version": "2"}),
    ("what's the F1 of v5", "model_details", {"version": "5"}),
    ("quelle version est le champion actuellement", "model_details", {}),
    ("montre les métriques de la version 2", "model_details", {"version": "2"}),
    ("quel est le score F1 de la v5", "model_details", {"version": "5"}),
    # promote_model
    ("please promote v8", "promote_model", {"version": "8"}),
    ("make version 2 the champion model", "promote_model", {"version": "2"}),
    ("promote version 3 of churn-churned", "promote_model", {"version": "3", "model": "churn-churned"}),
    ("promote the challenger", "promote_model", None),  # which version? asked
    ("promeus la version 8 s'il te plaît", "promote_model", {"version": "8"}),
    ("mets la version 2 en production", "promote_model", {"version": "2"}),
    ("promouvoir la v3 de churn-churned", "promote_model", {"version": "3", "model": "churn-churned"}),
    # rollback_model
    ("roll back to the previous champion", "rollback_model", {}),
    ("the last promotion was a mistake, undo it", "rollback_model", {}),
    ("rollback churn-churned", "rollback_model", {"model": "churn-churned"}),
    ("reviens au champion précédent", "rollback_model", {}),
    ("la dernière promotion était une erreur, annule-la", "rollback_model", {}),
    ("fais un rollback de churn-churned", "rollback_model", {"model": "churn-churned"}),
    # train_model
    ("train the model again", "train_model", {}),
    ("retrain with pytorch but do not promote", "train_model", {"trainer": "torch", "promote": False}),
    ("start a training with a full search", "train_model", {"search": "full"}),
    ("train a scikit-learn model without the search", "train_model", {"trainer": "sklearn", "search": "off"}),
    ("kick off a new training run", "train_model", {}),
    ("entraîne le modèle à nouveau", "train_model", {}),
    ("réentraîne avec pytorch mais ne pas promouvoir", "train_model", {"trainer": "torch", "promote": False}),
    ("lance un entraînement avec une recherche complète", "train_model", {"search": "full"}),
    ("démarre un nouvel entraînement", "train_model", {}),
    # run_drift_check
    ("check the predictions for drift now", "run_drift_check", {}),
    ("run a drift check on the last 3000 predictions", "run_drift_check", {"window": 3000}),
    ("launch the monitoring flow", "run_drift_check", {}),
    ("vérifie maintenant si les prédictions dérivent", "run_drift_check", {}),
    ("lance un contrôle de dérive sur les 3000 dernières prédictions", "run_drift_check", {"window": 3000}),
    ("démarre le flux de surveillance", "run_drift_check", {}),
    # drift_status
    ("what did the latest drift report find", "drift_status", {}),
    ("has anything drifted lately", "drift_status", {}),
    ("show me the drift history", "drift_status", {}),
    ("qu'a trouvé le dernier rapport de dérive", "drift_status", {}),
    ("est-ce que quelque chose a dérivé récemment", "drift_status", {}),
    ("montre l'historique de la dérive", "drift_status", {}),
    # list_alerts
    ("are there any alerts", "list_alerts", {}),
    ("show the drift alerts", "list_alerts", {"kind": "drift"}),
    ("list alerts about failed flows", "list_alerts", {"kind": "flow_failed"}),
    ("y a-t-il des alertes", "list_alerts", {}),
    ("montre les alertes de dérive", "list_alerts", {"kind": "drift"}),
    ("liste les alertes de précision", "list_alerts", {"kind": "accuracy_drop"}),
    # acknowledge_alert
    ("acknowledge alert number 14", "acknowledge_alert", {"alert_id": 14}),
    ("I've looked at alert 6, mark it seen", "acknowledge_alert", {"alert_id": 6}),
    ("acknowledge the alert", "acknowledge_alert", None),
    ("acquitte l'alerte numéro 14", "acknowledge_alert", {"alert_id": 14}),
    ("j'ai regardé l'alerte 6, marque-la comme vue", "acknowledge_alert", {"alert_id": 6}),
    ("acquitte l'alerte", "acknowledge_alert", None),
    # predict
    ('what product type is "Casque audio Bluetooth"', "predict", {"designation": "Casque audio Bluetooth"}),
    (
        'classify the listing "Tapis de yoga" "antidérapant, 6 mm"',
        "predict",
        {"designation": "Tapis de yoga", "description": "antidérapant, 6 mm"},
    ),
    ('predict the category of "Figurine Star Wars"', "predict", {"designation": "Figurine Star Wars"}),
    ("classify a listing for me", "predict", None),
    (
        'quel type de produit pour "Casque audio Bluetooth"',
        "predict",
        {"designation": "Casque audio Bluetooth"},
    ),
    ("classe l'annonce « Tapis de yoga »", "predict", {"designation": "Tapis de yoga"}),
    ('prédis la catégorie de "Figurine Star Wars"', "predict", {"designation": "Figurine Star Wars"}),
    # explain_prediction
    (
        'why is "Casque audio Bluetooth" in that class',
        "explain_prediction",
        {"designation": "Casque audio Bluetooth"},
    ),
    (
        'explain why the model chose that code for "Tapis de yoga"',
        "explain_prediction",
        {"designation": "Tapis de yoga"},
    ),
    (
        'which words made "Figurine Star Wars" a toy',
        "explain_prediction",
        {"designation": "Figurine Star Wars"},
    ),
    (
        'pourquoi "Casque audio Bluetooth" est dans cette classe',
        "explain_prediction",
        {"designation": "Casque audio Bluetooth"},
    ),
    (
        'explique pourquoi le modèle a choisi ce code pour "Tapis de yoga"',
        "explain_prediction",
        {"designation": "Tapis de yoga"},
    ),
    (
        "quels mots ont fait de « Figurine Star Wars » un jouet",
        "explain_prediction",
        {"designation": "Figurine Star Wars"},
    ),
    # ingest_sample
    ("ingest 10000 generated listings", "ingest_sample", {"rows": 10000}),
    ("add 3,000 sample products with drift", "ingest_sample", {"rows": 3000, "drift": True}),
    ("load some demo listings", "ingest_sample", {}),
    ("ingère 10000 annonces générées", "ingest_sample", {"rows": 10000}),
    ("ajoute 3 000 produits d'exemple avec dérive", "ingest_sample", {"rows": 3000, "drift": True}),
    ("charge quelques annonces de démonstration", "ingest_sample", {}),
    # profile_dataset
    ("profile the churn dataset", "profile_dataset", {"dataset": "churn"}),
    ("what does sales-2026 contain", "profile_dataset", {"dataset": "sales-2026"}),
    ("give me a data quality report of the catalogue", "profile_dataset", {}),
    ("profile le jeu de données churn", "profile_dataset", {"dataset": "churn"}),
    ("que contient sales-2026", "profile_dataset", {"dataset": "sales-2026"}),
    ("donne-moi un rapport de qualité du catalogue", "profile_dataset", {}),
    # list_datasets
    ("which tables have been uploaded", "list_datasets", {}),
    ("show all datasets and their versions", "list_datasets", {}),
    ("what datasets are stored", "list_datasets", {}),
    ("quelles tables ont été chargées", "list_datasets", {}),
    ("montre tous les jeux de données et leurs versions", "list_datasets", {}),
    ("quels jeux de données sont stockés", "list_datasets", {}),
    # suggest_preprocessing
    ("how should I preprocess churn", "suggest_preprocessing", {"dataset": "churn"}),
    ("recommend cleaning steps for diabetes", "suggest_preprocessing", {"dataset": "diabetes"}),
    ("what preprocessing do you suggest", "suggest_preprocessing", None),
    ("comment prétraiter churn", "suggest_preprocessing", {"dataset": "churn"}),
    ("recommande des étapes de nettoyage pour diabetes", "suggest_preprocessing", {"dataset": "diabetes"}),
    ("quel prétraitement suggères-tu", "suggest_preprocessing", None),
    # start_automl
    ("train a model on churn that predicts whether customers churn", "start_automl", {"dataset": "churn"}),
    (
        "use automl on diabetes to predict the progression, 5 minutes",
        "start_automl",
        {"dataset": "diabetes", "budget_minutes": 5},
    ),
    ("predict the revenue column of sales-2026", "start_automl", {"dataset": "sales-2026"}),
    ("entraîne un modèle sur churn qui prédit si les clients partent", "start_automl", {"dataset": "churn"}),
    (
        "utilise l'automl sur diabetes pour prédire la progression, 5 minutes",
        "start_automl",
        {"dataset": "diabetes", "budget_minutes": 5},
    ),
    ("prédis la colonne chiffre d'affaires de sales-2026", "start_automl", {"dataset": "sales-2026"}),
    # list_runs
    ("show the failed runs", "list_runs", {"status": "failed"}),
    ("what is running at the moment", "list_runs", {"status": "running"}),
    ("list the runs of the training pipeline", "list_runs", {"flow": "training-pipeline"}),
    ("montre les exécutions échouées", "list_runs", {"status": "failed"}),
    ("qu'est-ce qui tourne en ce moment", "list_runs", {"status": "running"}),
    ("liste les exécutions de l'entraînement", "list_runs", {"flow": "training-pipeline"}),
    # run_logs
    (f"show the log of run {RUN}", "run_logs", {"run_id": RUN}),
    ("what did the last training print", "run_logs", {"flow": "training-pipeline"}),
    ("show me the logs of the latest monitoring", "run_logs", {"flow": "monitor-and-retrain"}),
    (f"montre le journal de l'exécution {RUN}", "run_logs", {"run_id": RUN}),
    ("qu'a affiché le dernier entraînement", "run_logs", {"flow": "training-pipeline"}),
    ("montre-moi les logs de la dernière surveillance", "run_logs", {"flow": "monitor-and-retrain"}),
    # cancel_run
    (f"cancel run {RUN}", "cancel_run", {"run_id": RUN}),
    ("stop the training that is running", "cancel_run", {"flow": "training-pipeline"}),
    ("abort the ingest", "cancel_run", {"flow": "ingest"}),
    (f"annule l'exécution {RUN}", "cancel_run", {"run_id": RUN}),
    ("arrête l'entraînement qui tourne", "cancel_run", {"flow": "training-pipeline"}),
    ("interromps l'ingestion", "cancel_run", {"flow": "ingest"}),
    # retry_run
    (f"retry run {RUN}", "retry_run", {"run_id": RUN}),
    ("run the failed training again", "retry_run", {"flow": "training-pipeline"}),
    ("retry the monitoring that crashed", "retry_run", {"flow": "monitor-and-retrain"}),
    (f"relance l'exécution {RUN}", "retry_run", {"run_id": RUN}),
    ("refais l'entraînement qui a échoué", "retry_run", {"flow": "training-pipeline"}),
    ("réessaie la surveillance qui a planté", "retry_run", {"flow": "monitor-and-retrain"}),
    # schedule_workflow
    (
        "retrain on Monday nights",
        "schedule_workflow",
        {"deployment": "training-pipeline", "cron": "0 2 * * 1"},
    ),
    (
        "schedule the drift check every day at 6am",
        "schedule_workflow",
        {"deployment": "monitor-and-retrain", "cron": "0 6 * * *"},
    ),
    (
        "run the ingest every 30 minutes",
        "schedule_workflow",
        {"deployment": "ingest", "cron": "*/30 * * * *"},
    ),
    (
        "train every friday at 11pm",
        "schedule_workflow",
        {"deployment": "training-pipeline", "cron": "0 23 * * 5"},
    ),
    ("schedule the training", "schedule_workflow", None),  # when? asked
    (
        "réentraîne le lundi soir à 22h",
        "schedule_workflow",
        {"deployment": "training-pipeline", "cron": "0 22 * * 1"},
    ),
    (
        "planifie le contrôle de dérive tous les jours à 6h",
        "schedule_workflow",
        {"deployment": "monitor-and-retrain", "cron": "0 6 * * *"},
    ),
    (
        "lance l'ingestion toutes les 30 minutes",
        "schedule_workflow",
        {"deployment": "ingest", "cron": "*/30 * * * *"},
    ),
    (
        "entraîne tous les vendredis à 23h",
        "schedule_workflow",
        {"deployment": "training-pipeline", "cron": "0 23 * * 5"},
    ),
    # pause_schedule
    ("pause the monitoring schedule", "pause_schedule", {"deployment": "monitor-and-retrain"}),
    ("stop the scheduled training", "pause_schedule", {"deployment": "training-pipeline"}),
    ("turn off the ingest schedule", "pause_schedule", {"deployment": "ingest"}),
    (
        "mets en pause la planification de la surveillance",
        "pause_schedule",
        {"deployment": "monitor-and-retrain"},
    ),
    ("suspends l'entraînement planifié", "pause_schedule", {"deployment": "training-pipeline"}),
    ("désactive le calendrier de l'ingestion", "pause_schedule", {"deployment": "ingest"}),
    # design_app
    ("I'd like an app that forecasts call volumes from hourly logs", "design_app", {}),
    ("design a service that predicts machine failures from sensor readings", "design_app", {}),
    ("build an application that estimates delivery times", "design_app", {}),
    ("j'aimerais une appli qui prévoit le volume d'appels à partir des journaux horaires", "design_app", {}),
    ("conçois un service qui prédit les pannes de machines à partir des capteurs", "design_app", {}),
    ("construis une application qui estime les délais de livraison", "design_app", {}),
    # audit_log
    ("who rolled back the model", "audit_log", {}),
    ("what changed in the last 6 hours", "audit_log", {"since_hours": 6.0}),
    ("show who did what since yesterday", "audit_log", {"since_hours": 24.0}),
    ("qui a fait le rollback du modèle", "audit_log", {}),
    ("qu'est-ce qui a changé ces 6 dernières heures", "audit_log", {"since_hours": 6.0}),
    ("montre qui a fait quoi depuis hier", "audit_log", {"since_hours": 24.0}),
    # nothing the platform does: a question back
    ("what's the capital of France", None, {}),
    ("good evening", None, {}),
    ("quelle est la capitale de la France", None, {}),
    ("bonsoir", None, {}),
]


def _right(case: Case) -> bool:
    request, expected, arguments = case
    planned = plan(request, KNOWN)
    if expected is None:
        return planned.tool is None and planned.question is not None
    if planned.tool != expected:
        return False
    if arguments is None:
        return planned.question is not None  # a required argument is missing: asked, not guessed
    if planned.question is not None:
        return False
    return {k: v for k, v in planned.arguments.items() if k not in {"prompt", "intent"}} == arguments


def test_the_held_apart_requests_are_planned_right_at_least_nine_times_in_ten() -> None:
    assert len(CASES) >= 150
    assert {expected for _, expected, _ in CASES} >= set(BY_NAME)  # every tool is measured
    examples = {e for t in TOOLS for e in t.examples}
    assert not examples & {request for request, _, _ in CASES}  # kept apart from the training examples
    wrong = [(r, e, a, plan(r, KNOWN)) for r, e, a in CASES if not _right((r, e, a))]
    accuracy = 1 - len(wrong) / len(CASES)
    print(f"built-in planner: {accuracy:.1%} of {len(CASES)} held-apart requests planned right")
    assert accuracy >= 0.90, "\n".join(
        f"{r!r}: wanted {e} {a}, got {p.tool} {p.arguments} {p.question}" for r, e, a, p in wrong
    )


@pytest.mark.parametrize("request_text", ["promote version 3", "promouvoir la version 3"])
def test_a_mutating_plan_says_so_and_a_reading_one_does_not(request_text: str) -> None:
    assert plan(request_text).mutating
    assert not plan("show the alerts").mutating


def test_an_empty_request_gets_a_question() -> None:
    assert plan("  ").tool is None and "promote version 3" in (plan("").question or "")
