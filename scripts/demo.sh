#!/usr/bin/env bash
# The main job on one command: set up, build, and run the pipeline over the shipped example stream.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPATCHSTREAM_TESTS=OFF >/dev/null
ninja -C build -j"${PATCHSTREAM_JOBS:-2}" patchstream
echo "== patchstream apply schemas/examples/stream.ndjson (results on stdout, dead letters on stderr)"
build/processor/patchstream apply schemas/examples/stream.ndjson
