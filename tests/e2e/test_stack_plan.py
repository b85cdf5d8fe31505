"""The native stack's plan and files: what honcho, Prometheus and the services are given."""

from __future__ import annotations

import socket
import stat
import subprocess
from pathlib import Path

import pytest
from honcho.environ import parse, parse_procfile
from tests.tools import require_tool

from rakuten_mlops.config import Settings
from rakuten_mlops.stack import MARKER_ENV, Ports, StackError, build_plan, check_ports
from rakuten_mlops.stack.files import render_env, render_procfile, render_prometheus_config, write_stack_files
from rakuten_mlops.stack.wait import main as wait_main
from rakuten_mlops.testing.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
PORTS = Ports(api=18001, ui=18502, mlflow=15001, prefect=14201, prometheus=19091)


def test_procfile_has_one_line_per_service_that_honcho_reads(settings: Settings) -> None:
    plan = build_plan(settings, PORTS, root=ROOT)
    processes = parse_procfile(render_procfile(plan)).processes

    assert list(processes) == ["mlflow", "prefect", "api", "flows", "ui", "prometheus"]
    for name, line in processes.items():
        assert line.startswith(f"exec >>{plan.logs_dir / name}.log 2>&1; "), line
    api = processes["api"]
    # The API boots once MLflow answers, then becomes the process honcho signals (exec).
    assert f"rakuten_mlops.stack.wait --timeout 600 http://127.0.0.1:{PORTS.mlflow}/health && exec " in api
    assert api.endswith(f"-m rakuten_mlops.cli serve --host 127.0.0.1 --port {PORTS.api}")
    assert f"http://127.0.0.1:{PORTS.prefect}/api/health" in processes["flows"]
    assert f"--port {PORTS.mlflow} --workers 1" in processes["mlflow"]
    assert f"--server.port {PORTS.ui} --server.address 127.0.0.1" in processes["ui"]
    assert f"--web.listen-address=127.0.0.1:{PORTS.prometheus}" in processes["prometheus"]


def test_app_services_talk_to_the_stack_servers_and_mlflow_keeps_the_local_store(settings: Settings) -> None:
    plan = build_plan(settings, PORTS, root=ROOT)

    assert plan.env["MLFLOW_TRACKING_URI"] == f"http://127.0.0.1:{PORTS.mlflow}"
    assert plan.env["MLFLOW_BACKEND_STORE_URI"] == settings.tracking_uri  # the registry trained before `up`
    assert plan.env["MLFLOW_ARTIFACTS_DESTINATION"] == settings.artifacts_dir.as_uri()
    assert plan.env["PREFECT_API_URL"] == f"http://127.0.0.1:{PORTS.prefect}/api"
    assert plan.env["PREFECT_HOME"] == str(settings.mlops_home / "prefect")
    assert plan.env["API_URL"] == f"http://127.0.0.1:{PORTS.api}"
    assert plan.env["PROMETHEUS_URL"] == f"http://127.0.0.1:{PORTS.prometheus}"
    assert plan.env["DATABASE_URL"] == settings.db_url
    assert plan.env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert plan.env[MARKER_ENV] == plan.token


def test_an_mlflow_server_already_configured_is_used_and_none_is_started(settings: Settings) -> None:
    remote = Settings(MLOPS_HOME=str(settings.mlops_home), MLFLOW_TRACKING_URI="http://127.0.0.1:5999")
    plan = build_plan(remote, PORTS, root=ROOT, ui=False, prometheus=False)

    assert [s.name for s in plan.services] == ["prefect", "api", "flows"]
    assert plan.env["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:5999"
    assert "MLFLOW_BACKEND_STORE_URI" not in plan.env
    assert plan.service("api").after == ()
    assert plan.env["PROMETHEUS_URL"] == remote.prometheus_url  # no Prometheus of ours: the user's
    assert any("5999" in note for note in plan.notes)


def test_env_file_survives_honcho_parser_and_keeps_passwords_out_of_the_procfile(tmp_path: Path) -> None:
    url = "postgresql://rakuten:p#ss w'rd@127.0.0.1:5432/rakuten"
    settings = Settings(MLOPS_HOME=str(tmp_path / "home"), DATABASE_URL=url, MLFLOW_TRACKING_URI=url)
    plan = build_plan(settings, PORTS, root=ROOT, prometheus=False)

    assert parse(render_env(plan.env)) == plan.env
    write_stack_files(plan)
    assert "p#ss" not in plan.procfile.read_text()
    assert stat.S_IMODE(plan.env_file.stat().st_mode) == 0o600
    assert parse(plan.env_file.read_text())["MLFLOW_BACKEND_STORE_URI"] == url


def test_prometheus_config_scrapes_the_stack_api_and_loads_the_repository_rules(tmp_path: Path) -> None:
    config = render_prometheus_config(
        ROOT / "monitoring" / "prometheus.yml", api_port=18123, prometheus_port=19123
    )

    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert targets == {"rakuten-api": ["127.0.0.1:18123"], "prometheus": ["127.0.0.1:19123"]}
    assert config["rule_files"] == [str(ROOT / "monitoring" / "alerts.yml")]
    promtool = require_tool("promtool", "Debian package prometheus; make system-deps")
    settings = Settings(MLOPS_HOME=str(tmp_path / "home"))
    plan = build_plan(settings, PORTS, root=ROOT)
    write_stack_files(plan)
    assert plan.prometheus_config is not None
    checked = subprocess.run(
        [promtool, "check", "config", str(plan.prometheus_config)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout + checked.stderr


def _free_ports(**given: int) -> Ports:
    """Every port free on this machine (none of the services' defaults), except those given."""
    names = ("api", "ui", "mlflow", "prefect", "prometheus")
    return Ports(**{name: given.get(name) or free_port() for name in names})


def test_a_port_given_twice_or_in_use_is_refused_by_name(settings: Settings) -> None:
    shared = free_port()
    with pytest.raises(
        StackError, match=f"port {shared} is given to both API and control room; pass a different --ui-port"
    ):
        check_ports(build_plan(settings, _free_ports(api=shared, ui=shared), root=ROOT).services)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        plan = build_plan(settings, _free_ports(prefect=port), root=ROOT)
        with pytest.raises(
            StackError, match=rf"^port {port} \(Prefect\) is in use on 127.0.0.1; .* --prefect-port$"
        ):
            check_ports(plan.services)


def test_no_ui_and_no_prometheus_leave_them_out(settings: Settings) -> None:
    plan = build_plan(settings, PORTS, root=ROOT, ui=False, prometheus=False)

    assert [s.name for s in plan.services] == ["mlflow", "prefect", "api", "flows"]
    assert plan.prometheus_config is None


def test_a_missing_control_room_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(StackError, match=r"streamlit_app/Home\.py is missing; .* --no-ui"):
        build_plan(settings, PORTS, root=tmp_path)


def test_wait_helper_fails_when_a_server_never_answers(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/health"

    assert wait_main(["--timeout", "0.5", url]) == 1
    assert f"no answer from {url}" in capsys.readouterr().out
