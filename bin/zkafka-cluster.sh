#!/usr/bin/env bash
# Runs `zkafka zkafka-cluster` (builds target/release/zkafka first if it is stale):
# the whole cluster's health in one screen.
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/zkafka-run-class.sh"
zkafka_exec zkafka-cluster "$@"
