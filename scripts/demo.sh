#!/usr/bin/env bash
# The main job on one command: set up, build, then run the live scenario on a local Kafka
# (scripts/demo.py: rollout waves, a failing burst, auto-rollback, recovery). `--offline` instead
# runs the pipeline over the shipped example stream without Kafka.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j"${PATCHSTREAM_JOBS:-2}" patchstream
if [[ "${1:-}" == "--offline" ]]; then
  echo "== patchstream apply schemas/examples/stream.ndjson (results on stdout, dead letters on stderr)"
  exec build/processor/patchstream apply schemas/examples/stream.ndjson
fi
scripts/kafka-broker.sh fetch >/dev/null
exec python3 scripts/demo.py "$@"
