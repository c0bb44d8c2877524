"""Fault injection on the real broker: process kills, broker stop/freeze, group kills.

CI-sized by default; PATCHSTREAM_FAULT_SCALE=5 runs the heavy variants (100,000 batches)."""
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stream"))
from harness import ROOT, Processor, Topics, consume, make_batches, offline_apply, produce  # noqa: E402
from test_processor_kafka import assert_exactly_once, assert_per_document_order, outputs  # noqa: E402

SCALE = int(os.environ.get("PATCHSTREAM_FAULT_SCALE", "1"))
BROKER_SCRIPT = str(ROOT / "scripts/kafka-broker.sh")


def check_results_equal_offline(batches, res):
    expected = offline_apply([v for _, v in batches])
    for r in res:
        got = json.loads(r["payload"])
        got.pop("timings_us")
        got.pop("flag")
        want = dict(expected[got["batch_id"]])
        want.pop("flag")
        assert got == want


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_process_killed_repeatedly_loses_and_duplicates_nothing(tmp_path, sig):
    n = 20_000 * SCALE
    topics = Topics(partitions=3)
    batches = make_batches(n, 2_000, seed=31)
    produce(topics.input, batches)
    proc = Processor(topics, tmp_path, percentage=50, commit_events=300)
    rng = random.Random(5)
    kills = 0
    proc.start()
    while kills < 5:
        time.sleep(rng.uniform(0.3, 1.5))
        code = proc.stop(sig)
        if sig == signal.SIGTERM:
            assert code == 0, proc.log.read_text()[-2000:]
        kills += 1
        done = sum(len(consume(t)) for t in (topics.results, topics.legacy, topics.dead_letter))
        if done >= n:
            break
        proc.start()
    if proc.proc.poll() is not None:
        proc.start()
    res, leg, dlq = outputs(topics, n, timeout=300)
    assert proc.stop() == 0
    assert kills >= 5 or len(res) + len(leg) + len(dlq) == n
    assert_exactly_once(topics, n, res, leg, dlq)
    assert_per_document_order(res)
    check_results_equal_offline(batches, res)


@pytest.fixture
def own_broker(tmp_path, monkeypatch):
    """A broker of this test's own, so stopping it does not disturb other tests."""
    d = tmp_path / "broker"
    subprocess.run([BROKER_SCRIPT, "start", str(d)], check=True, capture_output=True)
    monkeypatch.setenv("PATCHSTREAM_TEST_BOOTSTRAP_FILE", str(d / "bootstrap"))
    yield d
    subprocess.run([BROKER_SCRIPT, "stop", str(d)], capture_output=True)


def ready(proc) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{proc.port}/readyz", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def broker_pid(d: Path) -> int:
    return int((d / "pid").read_text())


@pytest.mark.parametrize("fault", ["stop", "freeze"])
def test_broker_outage_recovers_without_loss(tmp_path, own_broker, fault):
    n = 10_000 * SCALE
    topics = Topics(partitions=3)
    batches = make_batches(n, 1_000, seed=41)
    proc = Processor(topics, tmp_path, percentage=50, commit_events=200,
                     kafka_extra={"socket.timeout.ms": "5000", "transaction.timeout.ms": "30000"}).start()
    produce(topics.input, batches[: n // 2])
    time.sleep(1)
    if fault == "stop":
        subprocess.run([BROKER_SCRIPT, "stop", str(own_broker)], check=True, capture_output=True)
    else:
        os.kill(broker_pid(own_broker), signal.SIGSTOP)
    # Not ready while the broker is away (checked over the 10 s outage).
    saw_not_ready = False
    deadline = time.time() + 10
    while time.time() < deadline:
        saw_not_ready |= not ready(proc)
        time.sleep(0.5)
    if fault == "stop":
        subprocess.run([BROKER_SCRIPT, "resume", str(own_broker)], check=True, capture_output=True)
    else:
        os.kill(broker_pid(own_broker), signal.SIGCONT)
    assert saw_not_ready, "/readyz should report not-ready during the outage"
    produce(topics.input, batches[n // 2:])
    # The processor recovers by itself: no restart from the test. One exception, seen in a heavy
    # run: the restarted broker can answer the abort of the transaction the outage broke with
    # INVALID_TXN_STATE, fatal for a librdkafka 2.0.2 producer; then the process exits 1 with a
    # clear log line (issue 4's contract) and the supervisor's one restart is part of recovering.
    res, leg, dlq = outputs(topics, n, timeout=180)
    log = proc.log.read_text()
    assert proc.proc.poll() is None, log[-3000:]
    assert proc.restarts == 0 or (proc.restarts == 1 and "INVALID_TXN_STATE" in log
                                  and "fatal Kafka error: exiting" in log), log[-3000:]
    assert proc.stop() == 0
    assert_exactly_once(topics, n, res, leg, dlq)


@pytest.mark.parametrize("instances", [2, 3])
def test_group_members_killed_at_random(tmp_path, instances):
    n = 12_000 * SCALE
    topics = Topics(partitions=6)
    batches = make_batches(n, 1_000, seed=51 + instances)
    produce(topics.input, batches)
    procs = [Processor(topics, tmp_path, instance=f"g{i}", commit_events=200).start(wait_ready=False)
             for i in range(instances)]
    rng = random.Random(instances)
    for _ in range(4):
        time.sleep(rng.uniform(1.0, 2.5))
        victim = rng.choice(procs)
        victim.stop(signal.SIGKILL)
        victim.start(wait_ready=False)
    res, leg, dlq = outputs(topics, n, timeout=300)
    for p in procs:
        assert p.stop() == 0
    assert_exactly_once(topics, n, res, leg, dlq)
    assert_per_document_order(res)
