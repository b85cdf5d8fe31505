#!/usr/bin/env bash
# Creates one login role and one database per service of the stack, each database owned
# by its role and closed to the others:
#
#   APP_DB_NAME (rakuten)    catalogue, predictions, drift reports, alerts   APP_DB_PASSWORD
#   mlflow                   MLflow tracking and registry                    MLFLOW_DB_PASSWORD
#   prefect                  Prefect server                                  PREFECT_DB_PASSWORD
#
# The postgres image runs it from /docker-entrypoint-initdb.d on the first start of an
# empty data volume only. It is idempotent, so it can also be run by hand against a
# running server (`docker compose exec postgres bash /docker-entrypoint-initdb.d/...`),
# e.g. after adding a database; an existing role keeps its password.
set -euo pipefail

# All or nothing: check every password before creating anything.
: "${APP_DB_PASSWORD:?APP_DB_PASSWORD is not set}" \
  "${MLFLOW_DB_PASSWORD:?MLFLOW_DB_PASSWORD is not set}" \
  "${PREFECT_DB_PASSWORD:?PREFECT_DB_PASSWORD is not set}"

create_database() {
    local name=$1 password=$2
    # psql variables (:'name', :"name") quote the values: no password can break the SQL.
    psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet \
        --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
        --set=name="$name" --set=password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'name', :'password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'name') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name') \gexec
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
    echo "database ${name} ready (owner ${name})"
}

create_database "${APP_DB_NAME:-rakuten}" "$APP_DB_PASSWORD"
create_database mlflow "$MLFLOW_DB_PASSWORD"
create_database prefect "$PREFECT_DB_PASSWORD"
