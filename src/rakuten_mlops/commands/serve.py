"""`rakuten-mlops serve`: the prediction API under uvicorn, one or several worker processes."""

from __future__ import annotations

import os
import shutil
from typing import Annotated

import typer

from rakuten_mlops.commands.common import err, fail, prepared_settings, run
from rakuten_mlops.db import make_engine
from rakuten_mlops.db.migrate import ensure_schema
from rakuten_mlops.errors import DatabaseError
from rakuten_mlops.serving.metrics import MULTIPROC_ENV
from rakuten_mlops.stack.services import port_in_use


def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 in a container).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (metrics are aggregated).", min=1)] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the prediction API (docs at /docs, metrics at /metrics)."""
    import uvicorn

    settings = run(False, prepared_settings)
    if port_in_use(port, host):
        raise fail(f"port {port} on {host} is in use; stop what listens there or pass --port", False)
    # A database that hangs must not hold the start: the API serves and the log keeps rows meanwhile.
    options = {"connect_args": {"connect_timeout": 5}} if settings.db_url.startswith("postgresql") else {}
    engine = make_engine(settings.db_url, **options)
    try:
        ensure_schema(engine)  # once here, so workers never race to migrate
    except DatabaseError as exc:
        err.print(f"[yellow]warning:[/] {exc}; predictions are spooled until the database is back")
    finally:
        engine.dispose()
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        folder = settings.mlops_home / "prometheus-multiproc"
        shutil.rmtree(folder, ignore_errors=True)  # samples of a previous run would be summed in
        folder.mkdir(parents=True)
        os.environ[MULTIPROC_ENV] = str(folder)
    shown = "localhost" if host in {"127.0.0.1", "0.0.0.0"} else host
    err.print(
        f"API on http://{host}:{port} (docs /docs, metrics /metrics), {workers} worker(s); Ctrl-C stops it"
    )
    err.print(
        f'try: curl -X POST http://{shown}:{port}/predict -H "Content-Type: application/json" '
        """-d '{"designation": "iPhone 13", "description": "Smartphone"}'""",
        highlight=False,
        soft_wrap=True,
    )
    uvicorn.run(
        "rakuten_mlops.serving.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        # A worker imports sklearn and mlflow before it can answer the supervisor's health pings
        # (10+ s on a busy 2-core laptop); uvicorn's 5 s default kills and respawns it forever.
        timeout_worker_healthcheck=120,
        # Past this many connections and requests uvicorn answers 503 at once instead of queueing them.
        limit_concurrency=settings.api_max_concurrency,
    )
