#!/usr/bin/env python3
"""The main job on one command: a local Kafka, `patchstream run`, a steady load, the seed's rollout
waves 10 → 25 → 50 → 100 %, a burst of failing batches that fires a critical alert and rolls the
flag back to 0 %, recovery, and a summary. The alert topic reaches a real Alertmanager (Debian's
prometheus-alertmanager) through `patchstream alert-router`; the live view and the summary show
what Alertmanager itself lists. Ctrl-C stops everything cleanly.

--embedded runs the same scenario on `patchstream mock-broker` (librdkafka's mock cluster) instead of
the Java broker: a toy without delivery guarantees, for machines without Java."""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# PATCHSTREAM_BIN: another build of patchstream (tests run the demo from their own build directory).
BIN = Path(os.environ.get("PATCHSTREAM_BIN", ROOT / "build/processor/patchstream"))
BROKER = ROOT / "scripts/kafka-broker.sh"
TOKEN = "demo-token"
FLAG = "batch-patches-v1"
TOPICS = ["patch-batches:3", "patch-results:3", "patch-legacy:3", "patch-dead-letters:1",
          "patchstream-metrics:1", "patchstream-alerts:1", "patchstream-flags:1:compact",
          "patchstream-flag-audit:1"]
ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
EMBEDDED_LABEL = "embedded toy broker (librdkafka mock cluster): no delivery guarantees"
EMBEDDED_DELIVERY = "processor at-least-once: the toy fakes transactions"


class Demo:
    def __init__(self, args):
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="patchstream-demo-"))
        self.procs = []
        self.broker_dir = self.work / "broker"
        self.port = args.admin_port
        self.broker = None
        self.broker_label = EMBEDDED_LABEL if args.embedded else "local Kafka 3.9 broker (KRaft, single node)"
        self.phase = "starting"
        self.history = []
        self.started = time.time()
        self.last = None
        self.tty = sys.stdout.isatty()
        self.alertmanager = None  # base URL once started
        self.am_seen = {}  # alert → what Alertmanager said last ("firing", then "resolved")

    # -- infrastructure ------------------------------------------------------------------------
    def sh(self, *cmd, **kw):
        return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True, **kw)

    def start_broker(self):
        print(f"demo: starting the {self.broker_label}…")
        if not self.args.embedded:
            self.bootstrap = self.sh(BROKER, "start", self.broker_dir).stdout.strip().splitlines()[-1]
            self.sh(BROKER, "create-topics", self.broker_dir, *TOPICS)
            return
        # Its own session: a Ctrl-C on the terminal reaches the processor and the producers, while
        # the broker stays up until stop() has let them finish, and is stopped last.
        bootstrap_file = self.work / "bootstrap"
        self.broker_log = open(self.work / "mock-broker.log", "w")
        self.broker = subprocess.Popen([BIN, "mock-broker", "--topics", ",".join(TOPICS),
                                        "--bootstrap-file", bootstrap_file],
                                       stdout=subprocess.DEVNULL, stderr=self.broker_log,
                                       start_new_session=True)
        deadline = time.time() + 30
        while not bootstrap_file.exists():
            if time.time() > deadline or self.broker.poll() is not None:
                raise SystemExit(f"patchstream mock-broker did not start; see {self.work}/mock-broker.log")
            time.sleep(0.1)
        self.bootstrap = bootstrap_file.read_text().strip()

    def start(self):
        print(f"demo: work directory {self.work}")
        self.start_broker()
        # The mock serves no CreateTopics request, which the Kafka flag store sends at startup: on
        # the embedded broker the flags live in a file store instead (same catalog, audit trail
        # and auto-rollback; one instance only).
        flag_store = (f'store = "file"\ndirectory = "{self.work / "flags"}"' if self.args.embedded
                      else 'store = "kafka"')
        # The mock acknowledges transactional offset commits without storing them (and writes no
        # abort markers), so exactly-once would only look like it; at-least-once (idempotent
        # producer, offsets committed after delivery) is what the mock really carries out.
        delivery = "at-least-once" if self.args.embedded else "exactly-once"
        if self.args.embedded:
            print("demo: patchstream runs at-least-once here (the toy broker fakes transactions)")
        window_ms = self.args.alert_window_seconds * 1000
        config = self.work / "patchstream.toml"
        config.write_text(f"""
instance_id = "demo-1"
[kafka]
"bootstrap.servers" = "{self.bootstrap}"
[admin]
listen = "127.0.0.1:{self.port}"
[processing]
delivery = "{delivery}"
[flags]
{flag_store}
[metrics]
interval_ms = 5000
[alerts]
window_ms = {window_ms}
window_slots = 10
min_samples = 50
resend_interval_ms = {min(window_ms // 2, 5000)}
[[flags.declare]]
name = "{FLAG}"
enabled = true
percentage = 0
auto_rollback = true
""")
        env = dict(os.environ, PATCHSTREAM_ADMIN_TOKEN=TOKEN)
        self.log = open(self.work / "patchstream.log", "w")
        self.processor = subprocess.Popen([BIN, "run", "-c", config], env=env, stdout=self.log,
                                          stderr=self.log)
        self.procs.append(self.processor)
        deadline = time.time() + 60
        while not self.ready():
            if time.time() > deadline or self.processor.poll() is not None:
                raise SystemExit(f"patchstream did not become ready; see {self.work}/patchstream.log")
            time.sleep(0.2)
        self.start_alert_path()
        self.load = self.produce(rate=self.args.rate, invalid=0.02, prefix="b")

    def start_alert_path(self):
        """A real Alertmanager and `patchstream alert-router` between the alert topic and it."""
        if not os.access(ALERTMANAGER, os.X_OK):
            print("demo: prometheus-alertmanager is not installed: the alert topic goes nowhere")
            return
        am_port, self.router_port = free_port(), free_port()
        am_config = self.work / "alertmanager.yml"
        am_config.write_text('route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n')
        am_log = open(self.work / "alertmanager.log", "w")
        am = subprocess.Popen([ALERTMANAGER, f"--config.file={am_config}",
                               f"--storage.path={self.work / 'alertmanager-data'}",
                               f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
                              stdout=am_log, stderr=am_log)
        self.procs.append(am)
        url = f"http://127.0.0.1:{am_port}"
        router_config = self.work / "alert-router.toml"
        router_config.write_text(f"""
[kafka]
"bootstrap.servers" = "{self.bootstrap}"
[alert_router]
alertmanagers = ["{url}"]
listen = "127.0.0.1:{self.router_port}"
""")
        router_log = open(self.work / "alert-router.log", "w")
        router = subprocess.Popen([BIN, "alert-router", "-c", router_config], stdout=router_log,
                                  stderr=router_log)
        self.procs.append(router)
        deadline = time.time() + 30
        while get(f"{url}/-/ready")[0] != 200 or get(f"http://127.0.0.1:{self.router_port}/readyz")[0] != 200:
            if time.time() > deadline or am.poll() is not None or router.poll() is not None:
                raise SystemExit(f"Alertmanager or the alert router did not start; see {self.work}")
            time.sleep(0.2)
        self.alertmanager = url
        print(f"demo: Alertmanager at {url}, fed by patchstream alert-router (metrics on "
              f"http://127.0.0.1:{self.router_port}/metrics)")

    def produce(self, rate, invalid, prefix, duration=0):
        p = subprocess.Popen([BIN, "produce", "--bootstrap", self.bootstrap, "--rate", str(rate),
                              "--users", str(self.args.users), "--invalid-ratio", str(invalid),
                              "--undecodable-ratio", "0.005", "--batch-prefix", prefix,
                              "--duration", str(duration), "--seed", str(int(time.time()))],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if self.broker is not None:
            if self.broker.poll() is None:
                self.broker.send_signal(signal.SIGTERM)
            try:
                self.broker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.broker.kill()
                self.broker.wait()
        elif not self.args.embedded:
            subprocess.run([str(BROKER), "stop", str(self.broker_dir)], capture_output=True)

    # -- admin API and metrics -----------------------------------------------------------------
    def http(self, method, path, body=None):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {TOKEN}"})
        try:
            with urllib.request.urlopen(req, timeout=3) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            return 0, ""

    def ready(self):
        return self.http("GET", "/readyz")[0] == 200

    def flag(self):
        status, body = self.http("GET", f"/admin/flags/{FLAG}")
        return json.loads(body) if status == 200 else {}

    def set_percentage(self, pct, reason):
        current = self.flag()
        status, body = self.http("POST", f"/admin/flags/{FLAG}",
                                 {"percentage": pct, "revision": current.get("revision"), "reason": reason})
        if status != 200:
            raise SystemExit(f"flag change failed: {status} {body}")

    def scrape(self):
        status, text = self.http("GET", "/metrics")
        m = {}
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            match = re.match(r'^(\w+)(\{[^}]*\})?\s+(\S+)$', line)
            if match:
                m[(match.group(1), match.group(2) or "")] = float(match.group(3))
        return m

    # -- the live view -------------------------------------------------------------------------
    def sample(self):
        m = self.scrape()
        def total(name, **labels):
            return sum(v for (n, l), v in m.items() if n == name and all(f'{k}="{val}"' in l for k, val in labels.items()))
        now = time.time()
        s = {"t": now, "pipeline": total("patchstream_batches_total", route="pipeline"),
             "legacy": total("patchstream_batches_total", route="legacy"),
             "rejected": total("patchstream_batches_total", route="pipeline", status="rejected"),
             "dead": total("patchstream_dead_letters_total"),
             "lag": total("patchstream_consumer_lag_records"),
             "rss": total("process_resident_memory_bytes"),
             "buckets": {l: v for (n, l), v in m.items()
                         if n == "patchstream_batch_latency_seconds_bucket" and 'stage="total"' in l and 'route="pipeline"' in l}}
        return s

    def quantile(self, buckets_now, buckets_then, q):
        rows = []
        for l, v in buckets_now.items():
            le = re.search(r'le="([^"]+)"', l).group(1)
            rows.append((float("inf") if le == "+Inf" else float(le), v - buckets_then.get(l, 0)))
        rows.sort()
        if not rows or rows[-1][1] <= 0:
            return None
        target = q * rows[-1][1]
        for le, count in rows:
            if count >= target:
                return le
        return None

    def firing_alerts(self):
        out = subprocess.run(["kcat", "-b", self.bootstrap, "-t", "patchstream-alerts", "-C", "-e", "-q",
                              "-J", "-X", "isolation.level=read_committed"], capture_output=True, text=True).stdout
        state = {}
        for line in out.splitlines():
            r = json.loads(line)
            h = r.get("headers") or []
            status = dict(zip(h[0::2], h[1::2])).get("patchstream-alert-status")
            labels = json.loads(r["payload"])["labels"]
            state[r["key"]] = (status, f'{labels["alertname"]}/{labels["severity"]}/{labels["route"]}')
        return sorted(name for status, name in state.values() if status == "firing")

    def alertmanager_alerts(self):
        """What Alertmanager lists now ("name/severity/route" → firing); an alert it listed before and
        lists no more was resolved (its resolved event reached it through the router)."""
        if not self.alertmanager:
            return []
        status, body = get(f"{self.alertmanager}/api/v2/alerts")
        if status != 200:
            return sorted(a for a, state in self.am_seen.items() if state == "firing")
        listed = set()
        for a in json.loads(body):
            labels = a["labels"]
            listed.add(f'{labels.get("alertname")}/{labels.get("severity")}/{labels.get("route")}')
        for name in listed:
            self.am_seen[name] = "firing"
        for name, state in self.am_seen.items():
            if state == "firing" and name not in listed:
                self.am_seen[name] = "resolved"
        return sorted(listed)

    def am_line(self):
        if not self.alertmanager:
            return "not running (prometheus-alertmanager not installed)"
        listed = self.alertmanager_alerts()
        resolved = sorted(a for a, state in self.am_seen.items() if state == "resolved")
        return (f"lists {', '.join(listed) if listed else 'nothing'}"
                + (f"; resolved: {', '.join(resolved)}" if resolved else ""))

    def render(self):
        s = self.sample()
        prev = self.last or s
        dt = max(s["t"] - prev["t"], 1e-6)
        tput = (s["pipeline"] + s["legacy"] - prev["pipeline"] - prev["legacy"]) / dt
        pipe = s["pipeline"] - prev["pipeline"]
        leg = s["legacy"] - prev["legacy"]
        err = (s["rejected"] - prev["rejected"]) / pipe if pipe else 0.0
        p50, p95, p99 = (self.quantile(s["buckets"], prev["buckets"], q) for q in (0.5, 0.95, 0.99))
        flag = self.flag()
        alerts = self.firing_alerts()
        self.last = s
        def fmt(v):
            if v is None:
                return "—"
            if v == float("inf"):
                return ">max"
            return f"≤{v * 1e6:.0f} µs" if v < 0.001 else f"≤{v * 1000:.1f} ms"
        lines = [
            f"patchstream demo — {time.time() - self.started:5.0f} s — phase: {self.phase}",
            f"  broker       {self.broker_label}" + (f" ({EMBEDDED_DELIVERY})" if self.args.embedded else ""),
            f"  throughput   {tput:8.0f} batches/s   (total {int(s['pipeline'] + s['legacy'])})",
            f"  route split  pipeline {pipe / (pipe + leg) * 100 if pipe + leg else 0:5.1f} %   legacy {leg / (pipe + leg) * 100 if pipe + leg else 0:5.1f} %",
            f"  flag         {FLAG} at {flag.get('percentage', '?')} % (revision {flag.get('revision', '?')}, by {flag.get('updated_by', '?')})",
            f"  error rate   {err * 100:5.1f} % of pipeline batches rejected",
            f"  latency      p50 {fmt(p50)}   p95 {fmt(p95)}   p99 {fmt(p99)}  (pipeline, per batch)",
            f"  dead letters {int(s['dead'])}     lag {int(s['lag'])} records     rss {s['rss'] / 2**20:.0f} MiB",
            f"  alerts       {', '.join(alerts) if alerts else 'none firing'} (alert topic)",
            f"  alertmanager {self.am_line()}",
        ]
        if self.tty:
            sys.stdout.write("\x1b[H\x1b[J" + "\n".join(lines) + "\n")
        else:
            print(" | ".join(l.strip() for l in lines[2:]))
        sys.stdout.flush()
        self.history.append((self.phase, flag.get("percentage"), alerts))

    def hold(self, seconds, until=None):
        end = time.time() + seconds
        while time.time() < end:
            self.render()
            if until and until():
                return True
            time.sleep(1)
        return False

    # -- the scenario --------------------------------------------------------------------------
    def run(self):
        self.start()
        wave = self.args.wave_seconds
        for pct in (10, 25, 50):
            self.phase = f"wave {pct} %"
            self.set_percentage(pct, f"rollout wave {pct}%")
            self.hold(wave)
        self.phase = "burst of failing batches (pipeline cohort)"
        burst = self.produce(rate=self.args.rate, invalid=1.0, prefix="burst", duration=self.args.burst_seconds)
        rolled_back = self.hold(self.args.burst_seconds + 22, until=lambda: self.flag().get("percentage") == 0)
        burst.wait()
        self.phase = "auto-rollback to 0 %" if rolled_back else "burst (no rollback?)"
        self.hold(3)
        # At 0 % the pipeline sees no traffic, and an alert needs a minimum sample to resolve (it
        # never resolves on silence): like the runbook, resume with a canary and watch it resolve.
        self.phase = "burst over: canary 10 %, waiting for the alert to resolve"
        self.set_percentage(10, "canary after incident: 10%")
        self.hold(4 * self.args.alert_window_seconds,
                  until=lambda: not any("/critical/pipeline" in a for a in self.firing_alerts()))
        for pct in (50, 100):
            self.phase = f"rollout resumed: {pct} %"
            self.set_percentage(pct, f"resume after incident: {pct}%")
            self.hold(wave)
        self.phase = "done"
        self.render()
        self.summary(rolled_back)

    def summary(self, rolled_back):
        _, body = self.http("GET", f"/admin/flags/{FLAG}/history")
        print("\nSummary")
        print(f"  broker: {self.broker_label}" + (f"\n  {EMBEDDED_DELIVERY}" if self.args.embedded else ""))
        print(f"  auto-rollback on the critical alert: {'yes' if rolled_back else 'NO'}")
        if self.alertmanager:
            self.alertmanager_alerts()
            print("  Alertmanager (fed by patchstream alert-router) listed:")
            for name, state in sorted(self.am_seen.items()):
                print(f"    {name}: {state}")
            if not self.am_seen:
                print("    nothing")
        try:
            for rec in json.loads(body).get("history", json.loads(body))[-8:]:
                before = (rec.get("before") or {}).get("percentage")
                print(f"  {rec['at']}  {rec['by']:>14}  {before} → {rec['after']['percentage']} %  {rec['reason']}")
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
        print("\nRead the topics (" + ("the toy broker fakes transactions: aborted records show too"
                                     if self.args.embedded else "committed records only") + "):")
        for t in ("patch-results", "patch-legacy", "patch-dead-letters", "patchstream-alerts", "patchstream-metrics"):
            print(f"  kcat -b {self.bootstrap} -t {t} -C -e -J -X isolation.level=read_committed")
        print(f"(the broker is stopped when this script exits; logs: {self.work})")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""
    except OSError:
        return 0, ""


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=2000, help="steady load, batches/s")
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--wave-seconds", type=int, default=12)
    parser.add_argument("--keep", action="store_true", help="keep the broker running at the end (until Ctrl-C)")
    parser.add_argument("--embedded", action="store_true",
                        help="run on `patchstream mock-broker` (librdkafka's mock cluster) instead of a Java Kafka: "
                             "no Java needed, no delivery guarantees")
    parser.add_argument("--burst-seconds", type=int, default=8, help="length of the failing burst")
    parser.add_argument("--alert-window-seconds", type=int, default=10,
                        help="the alert engine's error-rate window (shorter: faster alert and recovery)")
    parser.add_argument("--admin-port", type=int, default=19090, help="patchstream's admin/metrics port")
    args = parser.parse_args()
    demo = Demo(args)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    try:
        demo.run()
        if args.keep:
            print("Ctrl-C to stop")
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("\ndemo: interrupted")
    finally:
        print("demo: stopping producers, patchstream and the broker…")
        demo.stop()


if __name__ == "__main__":
    main()
