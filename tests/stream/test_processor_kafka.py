"""The processor on the real broker: exactly-once routing, rollout under traffic, restarts, two instances."""
import json
import signal
import threading
import time

import pytest

from harness import (Processor, Topics, bucket, consume, make_batches, offline_apply, produce)

CE_HEADERS = {"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"}


def outputs(topics: Topics, expect: int, timeout: float = 120):
    """All committed outputs, waiting until `expect` of them are visible."""
    deadline = time.time() + timeout
    while True:
        res, leg, dlq = (consume(t) for t in (topics.results, topics.legacy, topics.dead_letter))
        if len(res) + len(leg) + len(dlq) >= expect or time.time() > deadline:
            return res, leg, dlq
        time.sleep(1)


def assert_exactly_once(topics: Topics, n: int, res, leg, dlq):
    inputs = consume(topics.input, expect=n)
    assert len(inputs) == n
    coords = {f"{topics.input}/{r['partition']}/{r['offset']}": r for r in inputs}
    seen = [r["headers"]["ce_id"] for r in res + leg + dlq]
    duplicates = len(seen) - len(set(seen))
    missing = set(coords) - set(seen)
    assert duplicates == 0, f"{duplicates} inputs were answered more than once"
    assert not missing, f"{len(missing)} inputs have no output"
    assert set(seen) == set(coords)
    return coords


def assert_per_document_order(records):
    """Outputs of one document appear in the order of their inputs (per-partition order kept)."""
    last = {}
    for r in sorted(records, key=lambda r: (r["partition"], r["offset"])):
        doc = r["key"]
        _, part, off = r["headers"]["ce_id"].rsplit("/", 2)
        pos = (int(part), int(off))
        if doc in last:
            assert last[doc][0] != pos[0] or last[doc][1] < pos[1], f"order broken for {doc}"
        last[doc] = pos


def test_end_to_end_exactly_once_routing_and_offline_equality(tmp_path):
    topics = Topics(partitions=3)
    n, users = 10_000, 1_000
    batches = make_batches(n, users, seed=7)
    proc = Processor(topics, tmp_path, percentage=50).start()
    produce(topics.input, batches)
    res, leg, dlq = outputs(topics, n)
    assert proc.stop() == 0

    coords = assert_exactly_once(topics, n, res, leg, dlq)
    for r in res + leg + dlq:
        assert CE_HEADERS <= set(r["headers"]), r["headers"]
        assert r["headers"]["ce_source"] == f"/patchstream/{proc.instance_id}"
    assert {r["headers"]["ce_type"] for r in res} == {"patchstream.result.v1"}
    assert {r["headers"]["ce_type"] for r in leg} == {"patchstream.legacy.v1"}
    assert {r["headers"]["ce_type"] for r in dlq} == {"patchstream.deadletter.v1"}

    # Legacy and dead-letter records carry the input's bytes and key unchanged.
    for r in leg + dlq:
        src = coords[r["headers"]["ce_id"]]
        assert r["payload"] == src["payload"] and r["key"] == src["key"]
    for r in dlq:
        assert r["headers"]["patchstream.errors.code"] in {"not_json", "not_an_object", "invalid_identity"}
        assert r["headers"]["patchstream.errors.topic"] == topics.input
        _, part, off = r["headers"]["ce_id"].rsplit("/", 2)
        assert r["headers"]["patchstream.errors.partition"] == part
        assert r["headers"]["patchstream.errors.offset"] == off
    assert len(dlq) > 0

    # Each user's route agrees with `patchstream bucket`.
    buckets = {}
    for r in res:
        v = json.loads(r["payload"])
        u = v["user_id"]
        buckets.setdefault(u, bucket(u))
        assert buckets[u] <= 50 and v["flag"] == {"name": "batch-patches-v1", "bucket": buckets[u], "percentage": 50}
    for r in leg:
        u = json.loads(r["payload"])["user_id"]
        buckets.setdefault(u, bucket(u))
        assert buckets[u] > 50
        assert r["headers"]["patchstream-flag-bucket"] == str(buckets[u])
        assert r["headers"]["patchstream-flag-percentage"] == "50"
        assert r["headers"]["patchstream-flag-rule"] == "percentage_out"
    share = len(res) / (len(res) + len(leg))
    assert 0.4 < share < 0.6, share

    # Results equal offline `apply` on the same input.
    expected = offline_apply([v for _, v in batches])
    for r in res:
        got = json.loads(r["payload"])
        got.pop("timings_us")
        want = dict(expected[got["batch_id"]])
        assert got.pop("flag") is not None and want.pop("flag") is None
        assert got == want
        assert r["key"] == got["document_id"]
    assert_per_document_order(res)
    assert_per_document_order(leg)


def test_rollout_under_traffic_follows_each_change_within_a_second(tmp_path):
    topics = Topics(partitions=3)
    proc = Processor(topics, tmp_path, percentage=10, commit_events=100).start()
    produced = 0
    buckets = {}
    for wave, pct in enumerate([10, 25, 50, 100, 0]):
        if wave:
            _, current = proc.admin("GET", "/admin/flags/batch-patches-v1")
            status, body = proc.admin("POST", "/admin/flags/batch-patches-v1",
                                      {"percentage": pct, "revision": current["revision"],
                                       "reason": f"wave {wave}"})
            assert status == 200, body
        changed = time.time()
        burst = make_batches(400, 400, seed=100 + wave, invalid_ratio=0, undecodable_ratio=0)
        burst = [(k, v.replace('"b-', f'"w{wave}-b-')) for k, v in burst]
        produce(topics.input, burst)
        produced += len(burst)
        res, leg, _ = outputs(topics, produced)
        assert time.time() - changed < 30
        wave_res = [json.loads(r["payload"]) for r in res if json.loads(r["payload"])["batch_id"].startswith(f"w{wave}-")]
        wave_leg = [json.loads(r["payload"]) for r in leg if json.loads(r["payload"])["batch_id"].startswith(f"w{wave}-")]
        assert len(wave_res) + len(wave_leg) == len(burst)
        for v in wave_res:
            buckets.setdefault(v["user_id"], bucket(v["user_id"]))
            assert buckets[v["user_id"]] <= pct, (pct, v["user_id"])
            assert v["flag"]["percentage"] == pct
        for v in wave_leg:
            buckets.setdefault(v["user_id"], bucket(v["user_id"]))
            assert buckets[v["user_id"]] > pct or pct == 0
        if pct == 0:
            assert wave_res == [], "at 0% nothing reaches the pipeline"
        if pct == 100:
            assert wave_leg == []
    assert proc.stop() == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_restart_mid_stream_keeps_exactly_once(tmp_path, sig):
    topics = Topics(partitions=3)
    n = 12_000
    batches = make_batches(n, 500, seed=11)
    produce(topics.input, batches[: n // 2])
    proc = Processor(topics, tmp_path, percentage=50, commit_events=200).start()
    # Stop it mid-stream: as soon as it has handled a few hundred events (its own counter).
    deadline = time.time() + 60
    while time.time() < deadline and proc.events_handled() < 300:
        time.sleep(0.02)
    code = proc.stop(sig)
    if sig == signal.SIGTERM:
        assert code == 0
    partial = sum(len(consume(t)) for t in (topics.results, topics.legacy, topics.dead_letter))
    assert partial < n // 2 or sig == signal.SIGTERM, "a SIGKILL should land mid-stream"
    produce(topics.input, batches[n // 2:])
    proc.start()  # same instance id: fences any transaction the old process left open
    res, leg, dlq = outputs(topics, n)
    assert proc.stop() == 0
    assert_exactly_once(topics, n, res, leg, dlq)


def test_two_instances_share_partitions_and_survive_a_kill(tmp_path):
    topics = Topics(partitions=4)
    n = 8_000
    a = Processor(topics, tmp_path, instance="a", commit_events=200).start()
    b = Processor(topics, tmp_path, instance="b", commit_events=200).start()
    produce(topics.input, make_batches(n // 2, 500, seed=21))
    res, leg, dlq = outputs(topics, n // 2)
    sources = {r["headers"]["ce_source"] for r in res + leg + dlq}
    assert sources == {f"/patchstream/{a.instance_id}", f"/patchstream/{b.instance_id}"}, \
        "both instances should own partitions"
    a.stop(signal.SIGKILL)
    produce(topics.input, make_batches(n // 2, 500, seed=22))
    res, leg, dlq = outputs(topics, n, timeout=120)
    assert b.stop() == 0
    assert_exactly_once(topics, n, res, leg, dlq)
