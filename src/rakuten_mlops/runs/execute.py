"""Run one deployment's flow in this process, without a Prefect server (the control room's local mode).

    python -m rakuten_mlops.runs.execute training-pipeline/on-demand --parameters '{"promote": false}'

The flow runs with its own defaults and the given parameters, as the deployment would; the last
line of stdout is the flow's result as JSON. Exit code 0 when the run completed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pydantic import BaseModel

from rakuten_mlops.runs import catalog
from rakuten_mlops.runs.records import STARTED_BY


def _jsonable(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return result if isinstance(result, dict | list | str | int | float | bool) else str(result)


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the flow, print its result; the exit code says whether it completed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("deployment", help="FLOW/NAME, e.g. training-pipeline/on-demand")
    parser.add_argument("--parameters", default="{}", help="JSON object of parameters")
    parser.add_argument("--started-by", default="user")
    args = parser.parse_args(argv)
    spec = catalog.find(args.deployment)
    if spec is None:
        known = ", ".join(s.full_name for s in catalog.DEPLOYMENTS)
        print(
            f"error: no deployment {args.deployment!r}; the project's deployments: {known}", file=sys.stderr
        )
        return 2
    try:
        parameters = json.loads(args.parameters)
    except ValueError as exc:
        print(f"error: --parameters is not JSON: {exc}", file=sys.stderr)
        return 2
    from rakuten_mlops.commands.common import apply_defaults, prepared_settings
    from rakuten_mlops.runs.inprocess import run_failure, run_returning

    # Before Prefect is imported: it reads its settings (the temporary server's startup timeout,
    # which a busy machine needs) once, at import.
    apply_defaults()
    from prefect import tags

    prepared_settings()
    with tags(f"{STARTED_BY}{args.started_by}"):
        state, result = run_returning(spec.load_flow(), {**spec.parameters, **parameters})
    if result is None and not state.is_completed():
        failure = run_failure(state)
        print(f"error: {spec.full_name} {state.name.lower()}: {failure or state.message}", file=sys.stderr)
        return 1
    print(json.dumps(_jsonable(result), ensure_ascii=False, default=str))
    return 0 if state.is_completed() else 1


if __name__ == "__main__":
    sys.exit(main())
