"""The `rakuten-mlops` command line.

Every command prints human output by default and a one-line JSON summary on stdout with
`--json`; on failure it prints one clear sentence on stderr (no traceback) and exits 1.
The commands live in `rakuten_mlops.commands`; this module assembles them.
"""

from __future__ import annotations

import typer

from rakuten_mlops.commands.assistant import ask_command, mcp_command
from rakuten_mlops.commands.audit import audit_app
from rakuten_mlops.commands.automl import automl_command
from rakuten_mlops.commands.common import apply_defaults
from rakuten_mlops.commands.data import data_app, db_app, ingest_app
from rakuten_mlops.commands.datasets import datasets_app
from rakuten_mlops.commands.models import models_app, predict_command, train_command
from rakuten_mlops.commands.monitor import alerts_app, monitor_command, traffic_command
from rakuten_mlops.commands.runs import runs_app, schedules_app
from rakuten_mlops.commands.serve import serve_command
from rakuten_mlops.commands.settings import settings_app
from rakuten_mlops.commands.stack import down_command, up_command
from rakuten_mlops.commands.users import users_app

app = typer.Typer(
    help="Rakuten product classification: data, training, serving and monitoring.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(ingest_app, name="ingest")
app.add_typer(data_app, name="data")
app.add_typer(datasets_app, name="datasets")
app.add_typer(models_app, name="models")
app.add_typer(alerts_app, name="alerts")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(settings_app, name="settings")
app.add_typer(runs_app, name="runs")
app.add_typer(schedules_app, name="schedules")
app.command("train")(train_command)
app.command("ask")(ask_command)
app.command("mcp")(mcp_command)
app.command("automl")(automl_command)
app.command("predict")(predict_command)
app.command("serve")(serve_command)
app.command("monitor")(monitor_command)
app.command("traffic")(traffic_command)
app.command("up")(up_command)
app.command("down")(down_command)


@app.callback()
def _defaults() -> None:
    apply_defaults()


def main() -> None:
    """Entry point for `python -m rakuten_mlops.cli`."""
    app()


if __name__ == "__main__":
    main()
