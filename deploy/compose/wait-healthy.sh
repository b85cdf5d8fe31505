#!/bin/sh
# Waits until every given container is healthy (or running, for one without a healthcheck).
#
#   wait-healthy.sh TIMEOUT_SECONDS CONTAINER_ID...
#
# The make targets use it between the compose files, with the ids from `compose ps -q`,
# so it works the same with `docker compose` (v2) and `docker-compose` (v1, which has no
# `up --wait`). Exits 1 naming the containers that are not healthy in time.
set -eu

timeout=${1:?usage: wait-healthy.sh TIMEOUT_SECONDS CONTAINER_ID...}
shift
[ "$#" -gt 0 ] || { echo "wait-healthy: no container to wait for (did 'up' start anything?)" >&2; exit 1; }

format='{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}'
deadline=$(( $(date +%s) + timeout ))
while :; do
    pending=$(docker inspect --format "$format" "$@" | awk '$2 != "healthy" && $2 != "running" { sub("^/", "", $1); print $1 "(" $2 ")" }')
    [ -z "$pending" ] && exit 0
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "not healthy after ${timeout}s: $(printf '%s' "$pending" | tr '\n' ' ')" >&2
        echo "look at: docker logs <name>, or make compose-logs" >&2
        exit 1
    fi
    sleep 3
done
