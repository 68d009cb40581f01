#!/usr/bin/env bash
# Runs `zkafka kafka-acls` (builds target/release/zkafka first if it is stale).
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/zkafka-run-class.sh"
zkafka_exec kafka-acls "$@"
