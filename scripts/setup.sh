#!/usr/bin/env bash
# Installs what patchstream needs on Debian bookworm (apt packages, Python test packages). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  cmake ninja-build g++ pkg-config
  librdkafka-dev libboost-dev libsimdjson-dev prometheus-cpp-dev nlohmann-json3-dev libcmark-dev libxxhash-dev
  libtomlplusplus-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev clang-format
  kcat prometheus prometheus-alertmanager ed curl
)
# The Java broker (tests, demo) needs these; `demo.sh --embedded/--offline` runs without them.
if [[ -z "${PATCHSTREAM_SETUP_NO_JAVA:-}" ]]; then
  command -v java >/dev/null || packages+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || packages+=(maven)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! python3 -c 'import jsonschema, mmh3, pytest, yaml' 2>/dev/null; then
  echo "setup: installing Python test packages"
  python3 -m pip install -q -r tests/requirements.txt 2>/dev/null ||
    python3 -m pip install -q --user --break-system-packages -r tests/requirements.txt
fi
