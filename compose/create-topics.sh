#!/bin/sh
# One-shot topic creation for the compose stack: the 9 patchstream topics, idempotent (--if-not-exists).
# Runs in the apache/kafka image; BOOTSTRAP and PARTITIONS come from docker-compose.yml.
set -eu
bootstrap="${BOOTSTRAP:-kafka:9092}"
partitions="${PARTITIONS:-3}"
topics=/opt/kafka/bin/kafka-topics.sh

create() { # name partitions [--config k=v ...]
  name="$1"
  count="$2"
  shift 2
  "$topics" --bootstrap-server "$bootstrap" --create --if-not-exists \
    --topic "$name" --partitions "$count" --replication-factor 1 "$@"
}

# Keys are document_id on the data topics: one document stays on one partition end to end.
create patch-batches "$partitions"
create patch-results "$partitions"
create patch-legacy "$partitions"
create patch-dead-letters "$partitions"
create patchstream-metrics 1
create patchstream-alerts 1
# Flag store (docs/KAFKA-FLAG-STORE.md): current definitions compacted, audit trail kept forever.
create patchstream-flags 1 --config cleanup.policy=compact
create patchstream-flag-audit 1 --config cleanup.policy=delete --config retention.ms=-1
# Rollout plans' evidence (docs/OPERATIONS.md): the latest record per flag/instance.
create patchstream-rollout-evidence 1 --config cleanup.policy=compact

"$topics" --bootstrap-server "$bootstrap" --describe --topic patchstream-flags
"$topics" --bootstrap-server "$bootstrap" --list
echo "kafka-init: topics ready"
