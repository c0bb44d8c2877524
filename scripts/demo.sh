#!/usr/bin/env bash
# The main job on one command: set up, build, then run the live scenario on a local Kafka
# (scripts/demo.py: rollout waves, a failing burst, auto-rollback, recovery; the alerts reach a real
# Alertmanager through `patchstream alert-router`). `--offline` instead
# runs the pipeline over the shipped example stream without Kafka; `--embedded` runs the same scenario on
# `patchstream mock-broker` (librdkafka's mock cluster: no Java, no delivery guarantees).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ " $* " == *" --embedded "* || "${1:-}" == "--offline" ]]; then
  PATCHSTREAM_SETUP_NO_JAVA=1 scripts/setup.sh
else
  scripts/setup.sh
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j"${PATCHSTREAM_JOBS:-2}" patchstream
if [[ "${1:-}" == "--offline" ]]; then
  echo "== patchstream apply schemas/examples/stream.ndjson (results on stdout, dead letters on stderr)"
  exec build/processor/patchstream apply schemas/examples/stream.ndjson
fi
# The embedded toy broker is part of patchstream itself: no Java broker to fetch.
[[ " $* " == *" --embedded "* ]] || scripts/kafka-broker.sh fetch >/dev/null
exec python3 scripts/demo.py "$@"
