"""The assistant's tools: names, typed arguments, whether they change anything, and what they do.

The names and arguments are the contract the planners, the API, the CLI and the MCP server share.
Each tool's arguments are a pydantic model (so a planned call is validated before it runs, and the
MCP server and the `openai` backend publish its JSON schema); `mutating` tools run only once the
user confirms. The examples (English and French) train the built-in planner's intent model; the
requests it is measured on are kept apart, in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class NoArguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelArgs(NoArguments):
    model: str | None = Field(None, description="registered model name (default: the listing classifier)")


class ModelVersionArgs(ModelArgs):
    version: str | None = Field(None, description="model version (default: the champion)")


class PromoteArgs(ModelArgs):
    version: str = Field(description="the version to make champion")


class TrainArgs(NoArguments):
    trainer: Literal["sklearn", "torch"] | None = Field(None, description="sklearn (default) or torch")
    promote: bool | None = Field(None, description="promote the new version if the gate accepts it")
    search: Literal["off", "quick", "full"] | None = Field(None, description="model search mode")


class DriftCheckArgs(NoArguments):
    window: int | None = Field(None, ge=100, description="newest predictions to check")


class AlertsArgs(NoArguments):
    kind: str | None = Field(None, description="drift, accuracy_drop or flow_failed")


class AcknowledgeArgs(NoArguments):
    alert_id: int = Field(description="the alert's id")


class ListingArgs(NoArguments):
    designation: str = Field(min_length=1, description="the listing's title")
    description: str | None = Field(None, description="the listing's description")


class IngestSampleArgs(NoArguments):
    rows: int | None = Field(None, ge=1, le=1_000_000, description="generated listings to ingest")
    drift: bool | None = Field(None, description="shifted listings")


class DatasetArgs(NoArguments):
    dataset: str | None = Field(None, description="dataset name (default: the listing catalogue)")


class AutoMLArgs(NoArguments):
    dataset: str = Field(description="dataset name")
    target: str | None = Field(None, description="column to predict")
    budget_minutes: int | None = Field(None, ge=1, le=240, description="search budget")
    prompt: str | None = Field(None, description="what to predict, in a sentence")


class RunsArgs(NoArguments):
    status: str | None = Field(None, description="run state: running, completed, failed, cancelled")
    flow: str | None = Field(None, description="flow name")


class RunArgs(NoArguments):
    run_id: str | None = Field(None, description="flow run id")
    flow: str | None = Field(None, description="flow name: the latest matching run")


Workflow = Literal["training-pipeline", "monitor-and-retrain", "ingest"]


class ScheduleArgs(NoArguments):
    deployment: Workflow = Field(description="the flow whose deployment is scheduled")
    cron: str | None = Field(None, description="5-field cron, in UTC")


class IntentArgs(NoArguments):
    intent: str = Field(min_length=3, description="the app wanted, in a sentence")


class BuildAppArgs(NoArguments):
    dataset: str = Field(description="the workbench dataset the app learns from")
    intent: str | None = Field(None, min_length=3, description="the app wanted, in a sentence")
    profile: dict[str, Any] | None = Field(
        None, description="an edited app profile (design_app's), instead of the intent"
    )
    target: str | None = Field(
        None, description="the column to predict (default: the one the profile's target names)"
    )
    budget_minutes: int | None = Field(None, ge=1, le=240, description="each training's search budget")
    start_now: bool | None = Field(None, description="start the first training now (default yes)")


AuditAction = Literal[
    "promote", "rollback", "run_start", "acknowledge", "schedule", "ingest", "automl", "app_build"
]


class AuditArgs(NoArguments):
    since_hours: float | None = Field(None, gt=0, description="only the last H hours")
    action: AuditAction | None = Field(None, description="only this kind of change (promote, rollback, ...)")
    version: str | None = Field(None, description="only changes of this model version")


@dataclass(frozen=True)
class Tool:
    """One tool: its contract, and the example requests the built-in planner learns it from."""

    name: str
    description: str
    arguments: type[NoArguments]
    mutating: bool
    examples: tuple[str, ...]


TOOLS: tuple[Tool, ...] = (
    Tool("system_status", "Whether the API, database, registry and scheduler answer, and the champion served.",
         NoArguments, False, (
             "is everything up", "show the system status", "are the services running", "health check",
             "is the api alive", "what's the state of the platform",
             "tout fonctionne ?", "état du système", "les services tournent-ils", "l'api répond-elle",
             "vérifie la santé de la plateforme", "statut de la plateforme")),
    Tool("list_models", "The registered models and their versions, champion and challenger.",
         ModelArgs, False, (
             "list the models", "which models are registered", "show all model versions", "what models do we have",
             "show the registry", "list versions of the churn model",
             "liste les modèles", "quels modèles sont enregistrés", "montre le registre",
             "affiche les versions du modèle", "quels sont nos modèles", "voir toutes les versions")),
    Tool("model_details", "One version's metrics, tags and gate decision (default: the champion).",
         ModelVersionArgs, False, (
             "details of version 3", "what is the champion", "show the metrics of v2", "which version is serving",
             "how good is the current model", "tell me about version 4",
             "détails de la version 3", "quel est le champion", "métriques de la v2",
             "quelle version est en production", "que vaut le modèle actuel", "parle-moi de la version 4")),
    Tool("promote_model", "Make a version the champion (the API serves it).",
         PromoteArgs, True, (
             "promote version 3", "make v2 the champion", "put version 5 in production", "promote v4",
             "set version 3 as champion", "deploy version 6",
             "promouvoir la version 3", "mets la v2 en champion", "passe la version 5 en production",
             "promeus la v4", "fais de la version 3 le champion", "déploie la version 6")),
    Tool("rollback_model", "Give the champion alias back to the previous champion.",
         ModelArgs, True, (
             "roll back the model", "rollback", "go back to the previous champion", "undo the last promotion",
             "revert the champion", "the new model is bad, roll it back",
             "reviens au modèle précédent", "annule la dernière promotion", "fais un rollback",
             "restaure l'ancien champion", "revenir en arrière sur le modèle", "le nouveau modèle est mauvais, reviens en arrière")),
    Tool("train_model", "Train the listing classifier (training-pipeline) and gate it against the champion.",
         TrainArgs, True, (
             "train a new model", "retrain the classifier", "start a training run with torch", "train without promoting",
             "launch training with a full search", "retrain now",
             "entraîne un nouveau modèle", "relance l'entraînement", "lance un entraînement avec torch",
             "entraîner sans promotion", "réentraîne le classifieur", "démarre l'apprentissage")),
    Tool("run_drift_check", "Run the monitor-and-retrain flow once: a drift check, alerts, retraining on drift.",
         DriftCheckArgs, True, (
             "run a drift check", "check for drift now", "check the last 2000 predictions for drift",
             "run the monitoring", "is the traffic drifting? check it", "launch monitor and retrain",
             "lance une vérification de dérive", "vérifie la dérive maintenant", "lance la surveillance",
             "contrôle les 2000 dernières prédictions", "exécute le monitoring", "teste la dérive des données")),
    Tool("drift_status", "The newest drift reports: verdict, drifted share, what moved.",
         NoArguments, False, (
             "is there drift", "show the drift reports", "what did the last drift check say", "drift status",
             "has the data drifted", "latest drift result",
             "y a-t-il de la dérive", "montre les rapports de dérive", "résultat du dernier contrôle de dérive",
             "état de la dérive", "les données ont-elles dérivé", "dernier rapport de drift")),
    Tool("list_alerts", "Open alerts (drift, accuracy drop, failed flow), newest first.",
         AlertsArgs, False, (
             "show the alerts", "any open alerts", "list drift alerts", "what alerts are there",
             "did anything fail", "show me the warnings",
             "montre les alertes", "des alertes ouvertes ?", "liste les alertes de dérive", "quelles alertes",
             "quelque chose a échoué ?", "affiche les avertissements")),
    Tool("acknowledge_alert", "Mark an alert as seen.",
         AcknowledgeArgs, True, (
             "acknowledge alert 12", "ack alert 3", "mark alert 5 as seen", "I have seen alert 7",
             "dismiss alert 2", "close alert 9",
             "acquitte l'alerte 12", "marque l'alerte 5 comme vue", "j'ai vu l'alerte 7", "ferme l'alerte 9",
             "prends en compte l'alerte 3", "valide l'alerte 2")),
    Tool("predict", "Classify one listing with the champion.",
         ListingArgs, False, (
             'classify "Jeu PS4 Fifa 22"', 'what category is "Piscine tubulaire"', 'predict the type of "Manette Xbox"',
             'which product type for "Lot de 3 romans"', 'categorize "Poupée Barbie"', 'predict "Chaise de jardin"',
             'classe "Jeu PS4 Fifa 22"', 'quelle catégorie pour "Piscine tubulaire"', 'prédis le type de "Manette Xbox"',
             'quel code produit pour "Lot de 3 romans"', 'catégorise "Poupée Barbie"', 'prédiction pour "Chaise de jardin"')),
    Tool("explain_prediction", "Why the champion put a listing in its class: the words that pushed it.",
         ListingArgs, False, (
             'why is "Jeu PS4 Fifa 22" a video game', 'explain the prediction for "Piscine tubulaire"',
             'why did the model put "Manette Xbox" there', 'which words decided "Lot de 3 romans"',
             'explain "Poupée Barbie"', 'why was "Chaise de jardin" classified like that',
             'pourquoi "Jeu PS4 Fifa 22" est un jeu vidéo', 'explique la prédiction de "Piscine tubulaire"',
             'pourquoi le modèle a mis "Manette Xbox" là', 'quels mots ont décidé pour "Lot de 3 romans"',
             'explique "Poupée Barbie"', 'pourquoi "Chaise de jardin" est classé ainsi')),
    Tool("ingest_sample", "Generate realistic listings (the 27 real codes) and ingest them.",
         IngestSampleArgs, True, (
             "ingest 5000 sample rows", "generate some listings", "load sample data with drift", "add 2000 fake products",
             "ingest a sample", "create demo data",
             "ingère 5000 lignes d'exemple", "génère des annonces", "charge des données d'exemple avec dérive",
             "ajoute 2000 produits factices", "importe un échantillon", "crée des données de démo")),
    Tool("profile_dataset", "A dataset's profile: rows, column types, missing values, warnings.",
         DatasetArgs, False, (
             "profile the dataset", "describe the catalogue", "profile churn", "what is in the data",
             "show column statistics of sales", "data quality report",
             "profile le jeu de données", "décris le catalogue", "profil de churn", "que contiennent les données",
             "statistiques des colonnes de ventes", "rapport de qualité des données")),
    Tool("list_datasets", "The datasets stored in the workbench, with their versions.",
         DatasetArgs, False, (
             "list the datasets", "which datasets do we have", "show my tables", "what data is uploaded",
             "list dataset versions", "show the workbench",
             "liste les jeux de données", "quels datasets avons-nous", "montre mes tables",
             "quelles données sont chargées", "versions des jeux de données", "affiche l'atelier de données")),
    Tool("suggest_preprocessing", "Preprocessing suggestions for a dataset, each with its reason.",
         DatasetArgs, False, (
             "suggest preprocessing for churn", "how should I clean this data", "what cleaning steps do you recommend",
             "preprocessing advice for sales", "which transformations for the dataset", "how to prepare the table",
             "suggère un prétraitement pour churn", "comment nettoyer ces données", "quelles étapes de nettoyage",
             "conseils de préparation pour ventes", "quelles transformations pour le jeu de données",
             "comment préparer la table")),
    Tool("start_automl", "Train a model for any column of a dataset (AutoML with SHAP).",
         AutoMLArgs, True, (
             "predict churn from the churn dataset", "build a model to predict price on sales",
             "automl on diabetes for progression", "train a model that predicts whether a customer leaves",
             "run automl on the sales table", "find the best model for target income",
             "prédis le churn à partir du jeu churn", "construis un modèle pour prédire le prix sur ventes",
             "automl sur diabetes pour progression", "entraîne un modèle qui prédit si un client part",
             "lance l'automl sur la table ventes", "trouve le meilleur modèle pour la cible revenu")),
    Tool("list_runs", "Flow runs: state, flow, who started them.",
         RunsArgs, False, (
             "list the runs", "which runs failed", "show running flows", "what ran today",
             "show the training runs", "recent runs",
             "liste les exécutions", "quelles exécutions ont échoué", "montre les flux en cours",
             "qu'est-ce qui a tourné aujourd'hui", "montre les runs d'entraînement", "exécutions récentes")),
    Tool("run_logs", "The log lines of a run (default: the latest of a flow).",
         RunArgs, False, (
             "show the logs of the last training", "logs of run 0b6f2c7e-9d7c-4c4f-8f8f-0e2a9d1b3c5e",
             "what did the monitoring run print", "why did the last run fail, show its log", "tail the logs",
             "show me the output of the ingest",
             "montre les logs du dernier entraînement", "journal de l'exécution 0b6f2c7e-9d7c-4c4f-8f8f-0e2a9d1b3c5e",
             "qu'a affiché la surveillance", "pourquoi la dernière exécution a échoué, montre son journal",
             "affiche les journaux", "montre la sortie de l'ingestion")),
    Tool("cancel_run", "Stop a running flow run (default: the latest of a flow).",
         RunArgs, True, (
             "cancel the training", "stop run 0b6f2c7e-9d7c-4c4f-8f8f-0e2a9d1b3c5e", "kill the running ingest",
             "abort the monitoring run", "stop the current training", "cancel it",
             "annule l'entraînement", "arrête l'exécution 0b6f2c7e-9d7c-4c4f-8f8f-0e2a9d1b3c5e",
             "stoppe l'ingestion en cours", "interromps la surveillance", "arrête l'entraînement en cours", "annule-le")),
    Tool("retry_run", "Start a failed or cancelled run again with the same parameters.",
         RunArgs, True, (
             "retry the failed training", "rerun 0b6f2c7e-9d7c-4c4f-8f8f-0e2a9d1b3c5e", "run the ingest again",
             "retry the last run", "try the monitoring again", "restart the failed flow",
             "relance l'entraînement échoué", "réexécute 0b6f2c7e-9d7c-4c4f-8f8f-0e2a9d1b3c5e",
             "refais l'ingestion", "réessaie la dernière exécution", "retente la surveillance", "redémarre le flux en échec")),
    Tool("schedule_workflow", "Set when a deployment runs (a 5-field cron in UTC).",
         ScheduleArgs, True, (
             "retrain every monday at 2am", "schedule the monitoring daily at 6", "run the ingest every hour",
             "move the daily check to 7am", "train on weekdays at 9pm", "schedule training every night",
             "réentraîne tous les lundis à 2h", "planifie la surveillance chaque jour à 6h",
             "lance l'ingestion toutes les heures", "déplace le contrôle quotidien à 7h",
             "entraîne en semaine à 21h", "programme l'entraînement toutes les nuits")),
    Tool("pause_schedule", "Pause a deployment's schedule (runs started by hand still work).",
         ScheduleArgs, True, (
             "pause the daily monitoring", "stop scheduling the training", "disable the ingest schedule",
             "suspend the retraining schedule", "turn off the nightly run", "pause the schedule of monitor and retrain",
             "mets en pause la surveillance quotidienne", "arrête la planification de l'entraînement",
             "désactive la planification de l'ingestion", "suspends le réentraînement planifié",
             "coupe l'exécution nocturne", "pause le calendrier de la surveillance")),
    Tool("design_app", "Turn an app idea into a profile: task, inputs, target, metric, resources, schedule.",
         IntentArgs, False, (
             "I need an app that predicts network load from hourly counters",
             "design an app to forecast sales from daily orders", "make me an application that detects fraud",
             "I want a service that flags late deliveries", "create an app predicting energy use",
             "an app that tells me which customers will churn",
             "il me faut une application qui prédit la charge réseau à partir de compteurs horaires",
             "conçois une appli pour prévoir les ventes", "fais-moi une application qui détecte la fraude",
             "je veux un service qui signale les retards de livraison", "crée une appli qui prédit la consommation",
             "une application qui me dit quels clients vont partir")),
    Tool("build_app", "Build a designed app: dataset expectation, AutoML task, schedules, monitoring, image.",
         BuildAppArgs, True, (
             "build the app that predicts churn from the customers dataset",
             "build it on dataset traffic", "create the app's pipeline from the sales dataset",
             "set up the app for energy use with dataset meters", "deploy the app designed for late deliveries",
             "turn this app into a pipeline on dataset orders",
             "construis l'application sur le jeu de données clients", "construis-la avec le dataset trafic",
             "monte le pipeline de l'appli à partir du dataset ventes", "déploie l'application conçue pour la fraude",
             "crée le pipeline de l'application sur les données compteurs", "bâtis l'appli sur le dataset commandes")),
    Tool("audit_log", "Who changed what: promotions, trainings, acknowledgements, with their results.",
         AuditArgs, False, (
             "who promoted v3", "what changed since yesterday", "show the audit log", "who did what today",
             "list recent changes", "who acknowledged the alerts",
             "qui a promu la v3", "qu'est-ce qui a changé depuis hier", "montre le journal d'audit",
             "qui a fait quoi aujourd'hui", "liste les changements récents", "qui a acquitté les alertes")),
)  # fmt: skip
# A second round of examples, for the phrasings the first missed: synonyms of the verbs ("fit",
# "score", "live", "still going", "for now"), questions asked as statements, and shorter French.
MORE_EXAMPLES: dict[str, tuple[str, ...]] = {
    "system_status": ("are all the parts working", "is anything down", "do the components respond",
                      "est-ce que tout marche", "un service est-il en panne", "les composants répondent-ils"),
    "model_details": ("how well does v5 perform", "which model is in service", "what score did version 2 get",
                      "which model answers predictions", "comment s'en sort la version 5",
                      "quel modèle est en service", "quel score a obtenu la version 2", "quel modèle répond"),
    "train_model": ("fit a new classifier on the listings", "build a fresh model", "train once more",
                    "train again but keep the current champion", "ajuste un nouveau modèle sur le catalogue",
                    "refais un modèle", "entraîne encore une fois", "entraîne sans toucher au champion"),
    "run_drift_check": ("check whether the data moved", "run the drift monitor now", "analyse recent traffic for drift",
                        "vérifie si le trafic récent a dérivé", "fais tourner le contrôle de dérive",
                        "analyse la dérive du trafic récent"),
    "drift_status": ("did the last check find drift", "how much drifted", "le dernier contrôle a-t-il trouvé une dérive",
                     "quelle part a dérivé"),
    "suggest_preprocessing": ("what should I clean in churn", "how should I prepare churn", "fixes for churn before training",
                              "que dois-je nettoyer dans churn", "comment préparer churn",
                              "quelles corrections pour churn avant l'apprentissage"),
    "list_runs": ("which runs are going on", "what is still in progress", "show me the jobs",
                  "quelles exécutions sont en cours", "qu'est-ce qui tourne encore", "montre les tâches"),
    "pause_schedule": ("stop the automatic training for now", "hold the scheduled monitoring", "no more automatic ingestion",
                       "arrête l'entraînement automatique pour le moment", "suspends la surveillance planifiée",
                       "plus d'ingestion automatique"),
    "cancel_run": ("kill the training that is running", "abort the current monitoring run",
                   "tue l'entraînement en cours", "interromps l'exécution de surveillance en cours"),
    "retry_run": ("rerun the failed ingestion", "try the crashed run once more",
                  "relance l'ingestion échouée", "retente l'exécution plantée"),
    "audit_log": ("who rolled back", "who made changes this week", "history of actions",
                  "qui a fait un retour arrière", "qui a changé quelque chose cette semaine", "historique des actions"),
}  # fmt: skip
# A third round, for what the second fresh list missed (never the held-apart requests): verdicts
# asked about (not run), "justify", undoing a promotion in French, halting a running check.
THIRD_EXAMPLES: dict[str, tuple[str, ...]] = {
    "rollback_model": ("annule le passage en production", "annule la dernière promotion", "undo the last promotion",
                       "défais la mise en production du modèle"),
    "drift_status": ("what was the verdict of the drift check", "what did the monitoring conclude",
                     "result of the latest drift monitoring", "quel est le verdict de la surveillance",
                     "qu'a conclu le dernier contrôle de dérive"),
    "explain_prediction": ("justify the prediction for quotedtext", "justify why quotedtext got its class",
                           "justifie la prédiction pour quotedtext", "justifie la classe de quotedtext"),
    "cancel_run": ("halt the running drift check", "stop the drift check in progress",
                   "stoppe la vérification de dérive en cours", "halt the ingestion that is running"),
    "schedule_workflow": ("schedule the ingestion", "plan the monitoring",
                          "planifie l'ingestion", "programme l'entraînement"),
}  # fmt: skip
TOOLS = tuple(
    Tool(
        t.name,
        t.description,
        t.arguments,
        t.mutating,
        t.examples + MORE_EXAMPLES.get(t.name, ()) + THIRD_EXAMPLES.get(t.name, ()),
    )
    for t in TOOLS
)
BY_NAME = {tool.name: tool for tool in TOOLS}


def tool(name: str) -> Tool:
    """A tool by name; KeyError names the known ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no tool named {name!r}; tools: {', '.join(BY_NAME)}") from None
