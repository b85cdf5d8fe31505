#!/bin/sh
# Entry point of the api image: the prediction API with API_WORKERS uvicorn workers.
#
# The workers share their Prometheus samples through files in PROMETHEUS_MULTIPROC_DIR
# (a tmpfs in docker compose, an emptyDir in Kubernetes). Files left there by an earlier
# start of the same container would be summed into the new counters, so they go first.
set -eu

: "${PROMETHEUS_MULTIPROC_DIR:?must name a writable folder for the workers metric files (a tmpfs or an emptyDir)}"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
find "$PROMETHEUS_MULTIPROC_DIR" -mindepth 1 -delete

exec rakuten-mlops serve --host 0.0.0.0 --port 8000 --workers "${API_WORKERS:-4}"
