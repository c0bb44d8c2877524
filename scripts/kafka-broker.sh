#!/usr/bin/env bash
# Fetches, starts, stops and fills a single-node KRaft Apache Kafka 3.9 broker for tests and local runs.
#
# Usage:
#   scripts/kafka-broker.sh fetch                  fill the jar cache (Maven Central, once)
#   scripts/kafka-broker.sh resume DIR             restart a stopped broker on its data and ports
#   scripts/kafka-broker.sh start DIR              start a broker+controller on free loopback ports;
#                                                  writes DIR/bootstrap (host:port) and DIR/pid
#   scripts/kafka-broker.sh stop DIR               SIGTERM, wait, SIGKILL as a last resort
#   scripts/kafka-broker.sh create-topics DIR topic:partitions[:compact][:config=value...] ...
#   scripts/kafka-broker.sh status DIR             exit 0 when the broker in DIR answers
#
# Environment (PATCHSTREAM_BROKER_*, not PATCHSTREAM_KAFKA_*: `patchstream run` reads that prefix as
# librdkafka properties):
#   PATCHSTREAM_BROKER_LIBS       jar cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/patchstream/kafka-<version>/libs)
#   PATCHSTREAM_BROKER_START_TIMEOUT  seconds to wait for the broker to answer (default 60)
#   PATCHSTREAM_BROKER_STOP_TIMEOUT   seconds to wait after SIGTERM before SIGKILL (default 30)
#   PATCHSTREAM_BROKER_HEAP       JVM heap options (default "-Xms512m -Xmx512m")
#   PATCHSTREAM_BROKER_PROPERTIES  extra server.properties lines, space-separated key=value
#                                pairs appended last (they win over the defaults), e.g. a benchmark's
#                                "log.segment.bytes=1073741824"
set -euo pipefail

# Kafka 4.x dropped protocol versions that librdkafka 2.0 needs: stay on 3.9.x (keep in step with tests/kafka/pom.xml).
KAFKA_VERSION=3.9.2
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
POM="$SCRIPT_DIR/../tests/kafka/pom.xml"
LIBS=${PATCHSTREAM_BROKER_LIBS:-${XDG_CACHE_HOME:-$HOME/.cache}/patchstream/kafka-$KAFKA_VERSION/libs}
START_TIMEOUT=${PATCHSTREAM_BROKER_START_TIMEOUT:-60}
STOP_TIMEOUT=${PATCHSTREAM_BROKER_STOP_TIMEOUT:-30}
HEAP=${PATCHSTREAM_BROKER_HEAP:--Xms512m -Xmx512m}

die() {
  echo "kafka-broker: $*" >&2
  exit 1
}
log() { echo "kafka-broker: $*" >&2; }

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH ($2)"; }

# The cache is complete only once its marker holds the pom's hash: a fetch killed half-way, or a changed pom,
# means fetching again.
pom_hash() { sha256sum "$POM" | cut -d' ' -f1; }

cache_ready() { [[ -f "$LIBS/.complete" && "$(cat "$LIBS/.complete")" == "$(pom_hash)" ]]; }

fetch() {
  [[ -f "$POM" ]] || die "pom not found: $POM"
  if cache_ready; then
    return 0
  fi
  need mvn "apt-get install maven"
  need java "apt-get install openjdk-17-jre-headless"
  mkdir -p "$(dirname "$LIBS")"
  # Several test runs may fetch at once; the lock makes the second one wait and then reuse the cache.
  exec 9>"$(dirname "$LIBS")/.fetch.lock"
  flock 9
  if cache_ready; then
    exec 9>&-
    return 0
  fi
  local tmp
  tmp=$(mktemp -d "$(dirname "$LIBS")/libs.XXXXXX")
  log "fetching Kafka $KAFKA_VERSION jars into $LIBS"
  if ! (cd "$(dirname "$POM")" && mvn -q -B -Dstyle.color=never dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -Dkafka.version="$KAFKA_VERSION" 2>&1 | sed 's/\x1b\[[0-9;]*m//g') >&2; then
    rm -rf "$tmp"
    die "mvn dependency:copy-dependencies failed (is Maven Central reachable?)"
  fi
  ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || die "kafka_2.13-$KAFKA_VERSION.jar missing after fetch"
  pom_hash >"$tmp/.complete"
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  exec 9>&-
}

# Ports in use now, as a set of lines; picking among the rest leaves only a tiny race (start retries on it).
free_port() {
  local used port i
  used=$(ss -Htln 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
  for i in $(seq 1 200); do
    port=$((20000 + RANDOM % 40000))
    if ! grep -qx "$port" <<<"$used"; then
      echo "$port"
      return 0
    fi
  done
  die "no free loopback port found"
}

# The pid file names a process of ours only if that process's command line mentions this DIR.
broker_pid() {
  local dir=$1 pid
  [[ -f "$dir/pid" ]] || return 1
  pid=$(cat "$dir/pid")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir/server.properties" || return 1
  echo "$pid"
}

tcp_open() {
  local host=${1%:*} port=${1##*:}
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# Metadata naming our broker id is the proof the broker serves requests, not merely that its socket is open.
answers() {
  local bootstrap=$1
  tcp_open "$bootstrap" || return 1
  if command -v kcat >/dev/null 2>&1; then
    kcat -b "$bootstrap" -L -m 3 2>/dev/null | grep -q "broker 1 at"
  fi
}

write_config() {
  local dir=$1 bport=$2 cport=$3
  cat >"$dir/server.properties" <<EOF
# Written by scripts/kafka-broker.sh: one KRaft node that is both broker and controller, for tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$bport,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$bport
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.network.threads=2
num.io.threads=4
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=false
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
log.segment.bytes=16777216
log.retention.hours=24
log.cleaner.dedupe.buffer.size=8388608
transaction.remove.expired.transaction.cleanup.interval.ms=60000
EOF
  local kv
  for kv in ${PATCHSTREAM_BROKER_PROPERTIES:-}; do
    [[ "$kv" == *=* ]] || die "PATCHSTREAM_BROKER_PROPERTIES: '$kv' is not key=value"
    echo "$kv" >>"$dir/server.properties"
  done
  cat >"$dir/log4j.properties" <<EOF
# Written by scripts/kafka-broker.sh: broker logs go to files in this directory, never to the test's output.
log4j.rootLogger=INFO, server
log4j.appender.server=org.apache.log4j.FileAppender
log4j.appender.server.File=$dir/logs/server.log
log4j.appender.server.layout=org.apache.log4j.PatternLayout
log4j.appender.server.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
EOF
  cat >"$dir/tools-log4j.properties" <<EOF
# Written by scripts/kafka-broker.sh: command-line tools only report warnings, on stderr.
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

failed_start() {
  local dir=$1 why=$2
  log "$why"
  log "broker log: $dir/logs/server.log (JVM output: $dir/kafka.out)"
  if [[ -f "$dir/logs/server.log" ]]; then
    grep -E " (ERROR|FATAL) " "$dir/logs/server.log" | tail -n 5 >&2 || true
  fi
  tail -n 5 "$dir/kafka.out" >&2 2>/dev/null || true
}

# One attempt on freshly picked ports; returns 2 when the ports were taken meanwhile (caller retries).
start_once() {
  local dir=$1 bport cport cluster_id pid bootstrap deadline
  bport=$(free_port)
  cport=$(free_port)
  while [[ "$cport" == "$bport" ]]; do cport=$(free_port); done
  rm -rf "$dir/data" "$dir/logs" "$dir/bootstrap" "$dir/pid" "$dir/kafka.out"
  mkdir -p "$dir/data" "$dir/logs"
  write_config "$dir" "$bport" "$cport"

  # A random 16-byte id in Kafka's base64url form saves a JVM start for `StorageTool random-uuid`.
  # Not one starting with '-': the tool's argument parser would take it for an option and fail
  # (1 start in 64; Kafka's own Uuid.randomUuid avoids those ids for the same reason).
  cluster_id=-
  while [[ $cluster_id == -* ]]; do
    cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  done
  if ! java -Xshare:auto -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$LIBS/*" \
    -Dlog4j.configuration="file:$dir/tools-log4j.properties" \
    kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" >"$dir/format.out" 2>&1; then
    cat "$dir/format.out" >&2
    die "formatting KRaft storage failed (see $dir/format.out)"
  fi

  launch "$dir" "127.0.0.1:$bport"
}

# Starts the broker on DIR's existing configuration and storage and waits until it answers.
launch() {
  local dir=$1 bootstrap=$2 pid deadline
  # setsid + redirected fds: the broker must not hold the caller's (CTest's) pipes open or share its signals.
  # shellcheck disable=SC2086
  setsid java $HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$dir/log4j.properties" -Dkafka.logs.dir="$dir/logs" \
    -cp "$LIBS/*" kafka.Kafka "$dir/server.properties" </dev/null >"$dir/kafka.out" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/pid"

  deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      if grep -q "Address already in use" "$dir/logs/server.log" "$dir/kafka.out" 2>/dev/null; then
        return 2
      fi
      failed_start "$dir" "broker process $pid exited during start"
      rm -f "$dir/pid"
      return 1
    fi
    if answers "$bootstrap"; then
      echo "$bootstrap" >"$dir/bootstrap.tmp"
      mv "$dir/bootstrap.tmp" "$dir/bootstrap"
      return 0
    fi
    sleep 0.2
  done
  failed_start "$dir" "broker did not answer on $bootstrap within ${START_TIMEOUT}s"
  stop "$dir" || true
  return 1
}

# Restarts a stopped broker on its own data and ports (for broker-fault tests).
resume() {
  local dir=$1 bport
  [[ -f "$dir/server.properties" ]] || die "no broker configuration in $dir"
  dir=$(cd "$dir" && pwd)
  if broker_pid "$dir" >/dev/null; then die "a broker is already running in $dir"; fi
  bport=$(sed -n 's|^advertised.listeners=PLAINTEXT://127.0.0.1:||p' "$dir/server.properties")
  launch "$dir" "127.0.0.1:$bport" || die "the broker did not come back in $dir"
  log "broker resumed at $(cat "$dir/bootstrap")"
}

start() {
  local dir=$1 rc attempt
  need java "apt-get install default-jdk-headless"
  need ss "apt-get install iproute2"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  fetch
  # A broker left over from an interrupted run in the same DIR is stopped, not duplicated.
  if broker_pid "$dir" >/dev/null; then
    log "stopping the broker left running in $dir"
    stop "$dir"
  fi
  for attempt in 1 2 3; do
    rc=0
    start_once "$dir" || rc=$?
    if ((rc == 0)); then
      log "broker up at $(cat "$dir/bootstrap") (pid $(cat "$dir/pid"), logs $dir/logs/server.log)"
      echo "$(cat "$dir/bootstrap")"
      return 0
    fi
    ((rc == 2)) || exit 1
    log "port taken while starting (attempt $attempt), retrying on other ports"
  done
  die "could not bind free ports after 3 attempts; see $dir/logs/server.log"
}

stop() {
  local dir=$1 pid deadline
  [[ -d "$dir" ]] || die "no such broker dir: $dir"
  dir=$(cd "$dir" && pwd)
  if ! pid=$(broker_pid "$dir"); then
    log "no broker running in $dir"
    rm -f "$dir/pid" "$dir/bootstrap"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "broker $pid still running ${STOP_TIMEOUT}s after SIGTERM: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$dir/pid" "$dir/bootstrap"
  log "broker $pid stopped"
}

status() {
  local dir=$1
  [[ -f "$dir/bootstrap" ]] || die "no bootstrap file in $dir"
  broker_pid "$(cd "$dir" && pwd)" >/dev/null || die "broker process for $dir is not running"
  answers "$(cat "$dir/bootstrap")" || die "broker at $(cat "$dir/bootstrap") does not answer"
  echo "$(cat "$dir/bootstrap")"
}

# Topics are created with Kafka's own TopicCommand (kafka-tools jar), one JVM per topic; existing topics are kept.
create_topics() {
  local dir=$1
  shift
  (($# > 0)) || die "create-topics needs topic:partitions[:compact][:config=value...] arguments"
  local spec
  for spec in "$@"; do
    [[ "$spec" =~ ^[A-Za-z0-9._-]+:[0-9]+(:compact|:[a-z.]+=[A-Za-z0-9._-]+)*$ ]] ||
      die "bad topic spec '$spec' (want topic:partitions[:compact][:config=value...])"
  done
  [[ -f "$dir/bootstrap" ]] || die "no broker started in $dir (no $dir/bootstrap)"
  fetch
  local name partitions extras extra
  for spec in "$@"; do
    IFS=: read -r name partitions extras <<<"$spec"
    local args=(--bootstrap-server "$(cat "$dir/bootstrap")" --create --if-not-exists --topic "$name"
      --partitions "$partitions" --replication-factor 1)
    IFS=: read -ra extras <<<"$extras"
    for extra in "${extras[@]}"; do
      if [[ "$extra" == compact ]]; then
        args+=(--config cleanup.policy=compact)
      else
        args+=(--config "$extra")
      fi
    done
    java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$LIBS/*" \
      -Dlog4j.configuration="file:$dir/tools-log4j.properties" \
      org.apache.kafka.tools.TopicCommand "${args[@]}" || die "creating topic $name failed"
  done
}

usage() {
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}" >&2
  exit 2
}

cmd=${1:-}
case "$cmd" in
fetch) fetch && echo "$LIBS" ;;
start) (($# == 2)) || usage && start "$2" ;;
stop) (($# == 2)) || usage && stop "$2" ;;
resume) (($# == 2)) || usage && resume "$2" ;;
status) (($# == 2)) || usage && status "$2" ;;
create-topics) (($# >= 3)) || usage && create_topics "$2" "${@:3}" ;;
*) usage ;;
esac
