"""deploy/postgres/init-databases.sh against a real PostgreSQL server, run the way the image runs it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.deploy.helpers import REPO, clean_env, run
from tests.tools import require_tool

from rakuten_mlops.testing.postgres import PostgresCluster

SCRIPT = REPO / "deploy" / "postgres" / "init-databases.sh"
# A quote, a semicolon and a backslash: the script must pass them as data, not as SQL.
APP_PASSWORD = "it's;a\\test"

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def initialised(postgres_cluster: PostgresCluster) -> Iterator[PostgresCluster]:
    require_tool("psql", "the postgresql package brings it; make system-deps")
    yield postgres_cluster


def _env(cluster: PostgresCluster) -> dict[str, str]:
    return {
        **clean_env(),
        "PGHOST": "127.0.0.1",
        "PGPORT": str(cluster.port),
        "POSTGRES_USER": "postgres",
        "POSTGRES_DB": "postgres",
        "APP_DB_NAME": "rakuten",
        "APP_DB_PASSWORD": APP_PASSWORD,
        "MLFLOW_DB_PASSWORD": "mlflow-secret",
        "PREFECT_DB_PASSWORD": "prefect-secret",
    }


def _psql(cluster: PostgresCluster, user: str, database: str, sql: str) -> tuple[int, str]:
    result = run(
        ["psql", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", user, "-d", database, "-XAtc", sql],
        env=clean_env(),
    )
    return result.returncode, (result.stdout + result.stderr).strip()


def test_creates_one_owned_database_per_service_and_can_run_again(initialised: PostgresCluster) -> None:
    for _ in range(2):  # idempotent: a second run changes nothing and does not fail
        result = run(["bash", str(SCRIPT)], env=_env(initialised))
        assert result.returncode == 0, result.stderr
    code, owners = _psql(
        initialised,
        "postgres",
        "postgres",
        "SELECT datname || '=' || pg_get_userbyid(datdba) FROM pg_database "
        "WHERE datname IN ('rakuten', 'mlflow', 'prefect') ORDER BY 1",
    )
    assert code == 0 and owners.splitlines() == ["mlflow=mlflow", "prefect=prefect", "rakuten=rakuten"]


def test_each_role_works_in_its_own_database_only(initialised: PostgresCluster) -> None:
    assert run(["bash", str(SCRIPT)], env=_env(initialised)).returncode == 0
    # Prefect's migrations create the pg_trgm extension as the database owner.
    code, output = _psql(
        initialised, "prefect", "prefect", "CREATE EXTENSION IF NOT EXISTS pg_trgm; SELECT 1"
    )
    assert code == 0, output
    code, output = _psql(initialised, "mlflow", "mlflow", "CREATE TABLE IF NOT EXISTS t (x int); SELECT 1")
    assert code == 0, output
    code, output = _psql(initialised, "prefect", "rakuten", "SELECT 1")
    assert code != 0 and "permission denied" in output


def test_a_password_with_quotes_is_stored_not_executed(initialised: PostgresCluster) -> None:
    assert run(["bash", str(SCRIPT)], env=_env(initialised)).returncode == 0
    code, matches = _psql(
        initialised,
        "postgres",
        "postgres",
        "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'rakuten'",
    )
    assert code == 0 and matches == "t"


def test_refuses_to_create_anything_without_every_password(initialised: PostgresCluster) -> None:
    env = {**_env(initialised), "APP_DB_NAME": "never_created"}
    del env["PREFECT_DB_PASSWORD"]
    result = run(["bash", str(SCRIPT)], env=env)
    assert result.returncode != 0 and "PREFECT_DB_PASSWORD" in result.stderr
    code, found = _psql(
        initialised, "postgres", "postgres", "SELECT count(*) FROM pg_roles WHERE rolname = 'never_created'"
    )
    assert code == 0 and found == "0"
