#!/bin/sh
# The entry point of the Parcours image: one image, one process per command.
#
#   worker            the Temporal worker (SDK metrics on PARCOURS_METRICS_PORT)
#   api               the HTTP API on PARCOURS_API_HOST:PARCOURS_API_PORT (/healthz, /readyz, /metrics)
#   codec             the codec server for the Web UI on PARCOURS_CODEC_HOST:PARCOURS_CODEC_PORT
#   migrate [ARGS]    database migrations and search attributes, then exit (run before a deploy)
#   cli ARGS          any `python -m starter` command: keys, cohort, report, erase, config, ...
#   probe URL         exit 0 when URL answers 2xx: the health check of compose
#
# Every service first checks its configuration and refuses to start, with the reasons, when the
# environment does not make one (in production: no database, no payload keys; no person keys for
# the worker and the API; person keys given to the codec server, which must never hold them).
set -eu

usage() {
    echo "usage: parcours worker|api|codec|migrate [ARGS]|cli ARGS|probe URL" >&2
    exit 64
}

[ $# -gt 0 ] || usage
command="$1"
shift

case "$command" in
    worker | api | codec | migrate)
        python -m starter.config "$command" >/dev/null || exit 2
        ;;
esac

case "$command" in
    worker) exec python -m worker "$@" ;;
    api) exec python -m starter api "$@" ;;
    codec) exec python -m starter codec "$@" ;;
    migrate) exec python -m starter migrate "$@" ;;
    cli) exec python -m starter "$@" ;;
    probe)
        [ $# -eq 1 ] || usage
        exec python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=3)' "$1"
        ;;
    *) usage ;;
esac
