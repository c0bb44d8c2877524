"""Metrics, metric events, alert events and guarded rollout on the real broker."""
import json
import subprocess
import time
import urllib.request
from pathlib import Path

import jsonschema
import pytest

from harness import ROOT, Processor, Topics, consume, make_batches, produce

SCHEMAS = ROOT / "schemas"


def schema(name):
    return json.loads((SCHEMAS / name).read_text())


def test_metrics_scrape_is_clean_and_metric_events_match_their_schema(tmp_path):
    topics = Topics()
    proc = Processor(topics, tmp_path, extra_toml="[metrics]\ninterval_ms = 1000").start()
    produce(topics.input, make_batches(500, 100, seed=3))
    deadline = time.time() + 30
    events = []
    applied = 0
    # Windows close every second: wait until the published events account for pipeline work.
    while time.time() < deadline and applied == 0:
        events = [json.loads(r["payload"]) for r in consume(topics.metrics)]
        applied = sum(e["routes"]["pipeline"]["batches"]["applied"] for e in events)
        time.sleep(0.5)
    with urllib.request.urlopen(f"http://127.0.0.1:{proc.port}/metrics", timeout=5) as r:
        text = r.read().decode()
    assert proc.stop() == 0
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert 'patchstream_batches_total{route="pipeline",status="applied"}' in text
    assert "patchstream_flag_percentage" in text and "process_resident_memory_bytes" in text
    assert events, "no metric event was published"
    validator = jsonschema.Draft202012Validator(schema("metric-event.schema.json"))
    for e in events:
        validator.validate(e)
    assert applied > 0, "metric events should count the applied pipeline batches"


def flag_percentage(proc) -> int:
    status, body = proc.admin("GET", "/admin/flags/batch-patches-v1")
    assert status == 200, body
    return body["percentage"]


def test_flag_change_reaches_the_other_instance_within_a_second(tmp_path):
    topics = Topics()
    a = Processor(topics, tmp_path, instance="fa", percentage=10, flag_store="kafka").start()
    b = Processor(topics, tmp_path, instance="fb", percentage=10, flag_store="kafka").start()
    delays = []
    for pct in (25, 50, 100, 0, 10):
        _, current = a.admin("GET", "/admin/flags/batch-patches-v1")
        t0 = time.time()
        status, body = a.admin("POST", "/admin/flags/batch-patches-v1",
                               {"percentage": pct, "revision": current["revision"], "reason": "test"})
        assert status == 200, body
        while flag_percentage(b) != pct:
            assert time.time() - t0 < 5, "change did not reach instance b"
            time.sleep(0.005)
        delays.append(time.time() - t0)
    assert a.stop() == 0 and b.stop() == 0
    print(f"flag propagation a→b: max {max(delays)*1000:.0f} ms, all {[round(d*1000) for d in delays]} ms")
    assert max(delays) < 1.0


def test_auto_rollback_on_critical_pipeline_alert(tmp_path):
    topics = Topics()
    alerts = """[alerts]
window_ms = 5000
window_slots = 5
min_samples = 20
resend_interval_ms = 2000"""
    a = Processor(topics, tmp_path, instance="ra", percentage=50, auto_rollback=True,
                  flag_store="kafka", extra_toml=alerts, commit_events=100).start()
    b = Processor(topics, tmp_path, instance="rb", percentage=50, auto_rollback=True,
                  flag_store="kafka", extra_toml=alerts, commit_events=100).start()
    produce(topics.input, make_batches(300, 300, seed=5, invalid_ratio=0, undecodable_ratio=0))
    time.sleep(2)
    assert flag_percentage(a) == 50
    t0 = time.time()
    failing = make_batches(600, 300, seed=6, invalid_ratio=1.0, undecodable_ratio=0)
    produce(topics.input, [(k, v.replace('"b-', '"fail-b-')) for k, v in failing])
    while flag_percentage(a) != 0 or flag_percentage(b) != 0:
        assert time.time() - t0 < 30, "no auto-rollback"
        time.sleep(0.05)
    took = time.time() - t0
    print(f"auto-rollback: first failing batch → flag at 0% on both instances in {took:.2f} s")
    alerts_seen = consume(topics.alerts, expect=1, timeout=10)
    assert a.stop() == 0 and b.stop() == 0
    assert took < 5.0
    critical = [json.loads(r["payload"]) for r in alerts_seen
                if r["headers"].get("patchstream-alert-status") == "firing"]
    assert any(e["labels"]["severity"] == "critical" and e["labels"]["route"] == "pipeline" for e in critical)
    validator = jsonschema.Draft202012Validator(schema("alert-event.schema.json"))
    for r in alerts_seen:
        validator.validate(json.loads(r["payload"]))


def scrape(proc) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{proc.port}/metrics", timeout=5) as r:
        return r.read().decode()


def test_lag_gauge_has_a_sample_per_assigned_partition(tmp_path):
    """Issue 13.3: patchstream_consumer_lag_records is set by the loop, per partition."""
    topics = Topics(partitions=3)
    produce(topics.input, make_batches(150_000, 3000, seed=11, invalid_ratio=0, undecodable_ratio=0))
    proc = Processor(topics, tmp_path, instance="lag", percentage=50).start(wait_ready=False)
    positive: dict[str, float] = {}
    deadline = time.time() + 60
    text = ""
    while time.time() < deadline and len(positive) < 3:
        try:
            text = scrape(proc)
        except OSError:
            time.sleep(0.1)
            continue
        for line in text.splitlines():
            if line.startswith("patchstream_consumer_lag_records{"):
                partition = line.split('partition="', 1)[1].split('"', 1)[0]
                value = float(line.rsplit(" ", 1)[1])
                if value > 0:
                    positive[partition] = value
        time.sleep(0.1)
    # Caught up: every partition's sample falls to 0 (the gauge follows the lag, both ways).
    drained = False
    while time.time() < deadline + 60 and not drained:
        text = scrape(proc)
        samples = [float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
                   if l.startswith("patchstream_consumer_lag_records{")]
        drained = len(samples) == 3 and all(v == 0 for v in samples)
        time.sleep(0.2)
    assert proc.stop() == 0
    assert sorted(positive) == ["0", "1", "2"], f"positive lag seen only on {positive}"
    assert drained, "lag gauge did not return to 0 once caught up"
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_alerts_of_two_instances_carry_their_own_identity(tmp_path):
    """Issue 13.2: instance label, fingerprint (Kafka key), generatorURL and runbook_url per instance."""
    topics = Topics()
    alerts = """[alerts]
window_ms = 5000
window_slots = 5
min_samples = 10
resend_interval_ms = 2000"""
    procs = [Processor(topics, tmp_path, instance=name, percentage=100, flag_store="kafka",
                       extra_toml=alerts, commit_events=100).start() for name in ("ia", "ib")]
    failing = make_batches(600, 300, seed=7, invalid_ratio=1.0, undecodable_ratio=0)
    produce(topics.input, [(k, v.replace('"b-', '"fail-b-')) for k, v in failing])
    by_instance: dict[str, list[dict]] = {}
    deadline = time.time() + 30
    while time.time() < deadline and len(by_instance) < 2:
        by_instance = {}
        for r in consume(topics.alerts):
            value = json.loads(r["payload"])
            by_instance.setdefault(value["labels"]["instance"], []).append({"key": r["key"], **value})
        time.sleep(0.5)
    assert sorted(by_instance) == sorted(p.instance_id for p in procs), by_instance.keys()
    keys = {}
    for proc in procs:
        events = by_instance[proc.instance_id]
        for e in events:
            keys.setdefault((e["labels"]["alertname"], e["labels"]["severity"]), set()).add(e["key"])
            # The generator URL and the runbook are this instance's own admin server.
            assert e["generatorURL"] == f"http://127.0.0.1:{proc.port}/metrics", e
            runbook, _, anchor = e["annotations"]["runbook_url"].partition("#")
            assert runbook == f"http://127.0.0.1:{proc.port}/runbooks", e
            assert anchor == e["labels"]["alertname"].lower()
        with urllib.request.urlopen(events[0]["generatorURL"], timeout=5) as r:
            assert "patchstream_batches_total" in r.read().decode()
        with urllib.request.urlopen(events[0]["annotations"]["runbook_url"], timeout=5) as r:
            assert r.headers["Content-Type"].startswith("text/html")
            assert f'id="{events[0]["labels"]["alertname"].lower()}"' in r.read().decode()
    shared = [name for name, ks in keys.items() if len(ks) < 2 and name[0] == "PatchstreamErrorRateHigh"]
    assert not shared, f"both instances' alerts share a fingerprint: {shared}"
    for proc in procs:
        assert proc.stop() == 0
