# Real alert and metric events from the engine (alert_event_samples) against schemas/, the rules,
# the runbooks, and a live Alertmanager that receives them unchanged.
import datetime
import json
import os
import pathlib
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request

import jsonschema
import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
RULES = REPO / "alerting" / "rules" / "patchstream.rules.yml"
RUNBOOKS = REPO / "alerting" / "runbooks.md"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"

FORMAT_CHECKER = jsonschema.FormatChecker()
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@FORMAT_CHECKER.checks("date-time")
def _is_date_time(value):
    # Checked here so that a missing optional package cannot turn the check off.
    if not isinstance(value, str) or not _DATE_TIME.match(value):
        return False
    datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def validator(name):
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema, format_checker=FORMAT_CHECKER)


def fingerprint(labels):
    """Prometheus/Alertmanager label-set fingerprint, written independently of the C++ one."""
    h = 0xCBF29CE484222325
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode() + b"\xff":
                h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


@pytest.fixture(scope="session")
def samples(tmp_path_factory):
    binary = os.environ.get("ALERT_EVENT_SAMPLES_BIN")
    if not binary:
        pytest.skip("set ALERT_EVENT_SAMPLES_BIN to the built alert_event_samples (ctest does)")
    out = tmp_path_factory.mktemp("samples")
    subprocess.run([binary, str(out)], check=True)
    read = lambda name: [json.loads(line) for line in (out / name).read_text().splitlines()]
    return {"alerts": read("alert-events.ndjson"), "metrics": read("metric-events.ndjson"),
            "written": datetime.datetime.now(datetime.timezone.utc)}


@pytest.fixture(scope="session")
def rule_alerts():
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    return [r for r in rules if "alert" in r]


def test_alert_events_match_schema_and_fingerprint(samples):
    check = validator("alert-event")
    assert samples["alerts"]
    for event in samples["alerts"]:
        value = json.loads(event["value"])
        check.validate(value)
        assert event["status"] in ("firing", "resolved")
        assert event["key"] == fingerprint(value["labels"])
        assert value["labels"]["alertname"] == event["alertname"]
        assert value["labels"]["severity"] == event["severity"]
        assert value["labels"]["route"] == event["route"]
        assert value["labels"]["service"] == "patchstream"


def test_every_alert_fires_then_resolves_once(samples, rule_alerts):
    firing = {e["key"]: e for e in samples["alerts"] if e["phase"] == "firing"}
    resolved = [e for e in samples["alerts"] if e["phase"] == "resolved"]
    assert all(e["status"] == "firing" for e in firing.values())
    assert all(e["status"] == "resolved" for e in resolved)
    assert sorted(e["key"] for e in resolved) == sorted(firing)
    # Every rule of the Prometheus file has its engine twin: same name, same severities.
    engine_kinds = {(e["alertname"], e["severity"]) for e in firing.values()}
    assert engine_kinds == {(r["alert"], r["labels"]["severity"]) for r in rule_alerts}
    now = samples["written"]
    for event in resolved:
        before = json.loads(firing[event["key"]]["value"])
        after = json.loads(event["value"])
        assert after["startsAt"] == before["startsAt"]
        assert parse_time(after["endsAt"]) < now
        # Firing: endsAt = sent + 4 x 60 s, still ahead.
        ahead = parse_time(before["endsAt"]) - now
        assert datetime.timedelta(minutes=3) < ahead <= datetime.timedelta(minutes=4)
    rollback = {(e["alertname"], e["route"]) for e in firing.values() if e["triggers_rollback"]}
    assert rollback and all(route == "pipeline" for _, route in rollback)


def test_runbook_urls_point_at_sections(samples, rule_alerts):
    headings = {line[3:].strip().lower() for line in RUNBOOKS.read_text().splitlines()
                if line.startswith("## ")}
    urls = [json.loads(e["value"])["annotations"]["runbook_url"] for e in samples["alerts"]]
    urls += [r["annotations"]["runbook_url"] for r in rule_alerts]
    for url in urls:
        path, _, anchor = url.partition("#")
        assert path.endswith("/runbooks"), url
        assert anchor in headings, url
    assert {r["alert"].lower() for r in rule_alerts} == headings


def test_schema_examples_use_real_alert_names(rule_alerts):
    names = {r["alert"] for r in rule_alerts}
    for example in sorted((SCHEMAS / "examples" / "alert-event").glob("*.json")):
        value = json.loads(example.read_text())
        assert value["labels"]["alertname"] in names, example.name
        assert value["annotations"]["runbook_url"].endswith(
            "#" + value["labels"]["alertname"].lower()), example.name


def test_metric_events_match_schema(samples):
    check = validator("metric-event")
    idle, busy = samples["metrics"]
    for event in (idle, busy):
        check.validate(event)
    assert idle["routes"]["pipeline"]["error_rate"] is None
    pipeline = busy["routes"]["pipeline"]
    assert pipeline["batches"] == {"applied": 193, "rejected": 7, "failed": 2, "forwarded": 0}
    assert pipeline["error_rate"] == pytest.approx(9 / 202)
    assert busy["routes"]["legacy"]["batches"]["forwarded"] == 100
    assert busy["dead_letters"] == 1 and busy["consumer_lag"] == 42
    assert parse_time(busy["window_start"]) == parse_time(idle["window_end"])


# --- a real Alertmanager -------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None):
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, response.read()


@pytest.fixture
def alertmanager(tmp_path):
    if not os.access(ALERTMANAGER, os.X_OK):
        pytest.skip("Debian prometheus-alertmanager is not installed")
    config = tmp_path / "alertmanager.yml"
    config.write_text('route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n')
    port = free_port()
    log = open(tmp_path / "alertmanager.log", "wb")
    process = subprocess.Popen(
        [ALERTMANAGER, f"--config.file={config}", f"--storage.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if http("GET", base + "/-/ready")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert process.poll() is None, (tmp_path / "alertmanager.log").read_text()
            assert time.monotonic() < deadline, "Alertmanager did not become ready"
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def active_alerts(base):
    status, body = http("GET", base + "/api/v2/alerts")
    assert status == 200
    return {a["fingerprint"]: a for a in json.loads(body)}


def test_alertmanager_accepts_events_unchanged(samples, alertmanager):
    firing = {e["key"]: e for e in samples["alerts"] if e["phase"] == "firing"}
    for event in firing.values():
        # What an alert router does: the record value, byte for byte, inside [...].
        status, _ = http("POST", alertmanager + "/api/v2/alerts",
                         b"[" + event["value"].encode() + b"]")
        assert status == 200

    deadline = time.monotonic() + 10
    while True:
        alerts = active_alerts(alertmanager)
        if all(alerts.get(k, {}).get("status", {}).get("state") == "active" for k in firing):
            break
        assert time.monotonic() < deadline, f"not all active: {sorted(alerts)} vs {sorted(firing)}"
        time.sleep(0.2)
    for key, event in firing.items():
        # Alertmanager's own fingerprint of the labels is the record key.
        assert alerts[key]["labels"] == json.loads(event["value"])["labels"]
        assert parse_time(alerts[key]["endsAt"]) == parse_time(json.loads(event["value"])["endsAt"])

    for event in samples["alerts"]:
        if event["phase"] == "resolved":
            status, _ = http("POST", alertmanager + "/api/v2/alerts",
                             b"[" + event["value"].encode() + b"]")
            assert status == 200
    alerts = active_alerts(alertmanager)
    assert not set(alerts) & set(firing), "resolved alerts still listed as active"
