#!/usr/bin/env bash
# Register the eight custom search attributes of the contract (DESIGN §8) on a Temporal namespace.
#
# Safe to run again: the CLI accepts an attribute that already exists with the same type, and
# fails when one exists with another type (a deployment error to fix by hand, not to paper over).
# One call per attribute: the CLI (1.9) creates only the first of several --name options.
#
# Usage: deploy/search-attributes.sh [TEMPORAL CLI CONNECTION OPTIONS]
#   deploy/search-attributes.sh --address temporal.internal:7233 --namespace parcours
#   TEMPORAL_ADDRESS=... TEMPORAL_NAMESPACE=... deploy/search-attributes.sh
# The `temporal` CLI on PATH is used unless TEMPORAL_CLI names another one.
set -euo pipefail

temporal="${TEMPORAL_CLI:-temporal}"

for attribute in \
    ParcoursPartner=Keyword \
    ParcoursPhase=Keyword \
    ParcoursStatus=Keyword \
    ParcoursNudgeLevel=Int \
    ParcoursPostcode=Keyword \
    ParcoursLastContact=Datetime \
    ParcoursOutcome=Keyword \
    ParcoursEnrolledAt=Datetime; do
    "$temporal" operator search-attribute create "$@" \
        --name "${attribute%%=*}" --type "${attribute#*=}"
done
