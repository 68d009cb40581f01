#!/usr/bin/env bash
# Runs `zkafka kafka-console-consumer` (builds target/release/zkafka first if it is stale).
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/zkafka-run-class.sh"
zkafka_exec kafka-console-consumer "$@"
