"""Test harness for the processor on the real broker: topics, kcat I/O, processor instances."""
import atexit
import json
import os
import random
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import mmh3  # tests/requirements.txt

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("PATCHSTREAM_BIN", str(ROOT / "build/processor/patchstream"))
TOKEN = "test-token-" + uuid.uuid4().hex


def bootstrap_file() -> Path:
    return Path(os.environ["PATCHSTREAM_TEST_BOOTSTRAP_FILE"])


def bootstrap() -> str:
    return bootstrap_file().read_text().strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Topics:
    """A fresh set of topic names per test, created on the broker."""

    def __init__(self, partitions: int = 3, config: tuple[str, ...] = ()):
        """config: topic configs (`max.message.bytes=N`) for the input and output topics."""
        p = "t" + uuid.uuid4().hex[:10]
        self.input = f"{p}-in"
        self.results = f"{p}-results"
        self.legacy = f"{p}-legacy"
        self.dead_letter = f"{p}-dlq"
        self.metrics = f"{p}-metrics"
        self.alerts = f"{p}-alerts"
        self.flags = f"{p}-flags"
        self.flag_audit = f"{p}-flag-audit"
        self.rollout_evidence = f"{p}-evidence"  # created by the processor's rollout controller
        self.group = f"{p}-group"
        extra = "".join(f":{c}" for c in config)
        specs = [f"{t}:{partitions}{extra}" for t in (self.input, self.results, self.legacy)]
        specs += [f"{self.dead_letter}:1{extra}", f"{self.metrics}:1", f"{self.alerts}:1",
                  f"{self.flags}:1:compact", f"{self.flag_audit}:1"]
        subprocess.run([str(ROOT / "scripts/kafka-broker.sh"), "create-topics",
                        str(bootstrap_file().parent), *specs], check=True, capture_output=True)


def produce(topic: str, records) -> None:
    """records: iterable of (key, value) strings without tabs or newlines."""
    with tempfile.NamedTemporaryFile("w", delete=False, suffix=".txt") as f:
        for key, value in records:
            f.write(f"{key}\t{value}\n")
        path = f.name
    subprocess.run(["kcat", "-b", bootstrap(), "-t", topic, "-P", "-K", "\t", "-z", "lz4",
                    # idempotent: a retry after a broker fault must not duplicate an input
                    "-X", "enable.idempotence=true", "-l", path], check=True)
    os.unlink(path)


def consume(topic: str, expect: int | None = None, timeout: float = 60) -> list[dict]:
    """Every committed record of `topic` (read_committed), as kcat -J dicts with headers as a dict."""
    deadline = time.time() + timeout
    while True:
        out = subprocess.run(["kcat", "-b", bootstrap(), "-t", topic, "-C", "-J", "-e", "-q",
                              "-o", "beginning", "-X", "isolation.level=read_committed"],
                             check=True, capture_output=True).stdout
        # Dead letters carry their input unchanged, invalid UTF-8 included.
        out = out.decode("utf-8", "surrogateescape")
        records = []
        for line in out.splitlines():
            r = json.loads(line)
            h = r.get("headers") or []
            r["headers"] = dict(zip(h[0::2], h[1::2]))
            records.append(r)
        if expect is None or len(records) >= expect or time.time() > deadline:
            return records
        time.sleep(0.5)


_SPAWNED: list[subprocess.Popen] = []


@atexit.register
def _kill_leftovers():
    """A failed assertion skips stop(): never leave a processor running after the tests."""
    for p in _SPAWNED:
        if p.poll() is None:
            p.kill()


class Processor:
    """One `patchstream run` instance with its own config file, flag directory and admin port."""

    def __init__(self, topics: Topics, workdir: Path, instance: str = "i1", percentage: int = 50,
                 kafka_extra: dict | None = None, commit_events: int = 500, extra_toml: str = "",
                 auto_rollback: bool = False, flag_store: str = "file"):
        self.topics, self.instance = topics, instance
        # Unique per test: suites run in parallel on one broker, and a shared transactional.id
        # would make their processors fence each other.
        self.instance_id = f"{topics.group.removesuffix('-group')}-{instance}"
        self.port = free_port()
        self.dir = workdir / instance
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config = self.dir / "patchstream.toml"
        kafka = {"session.timeout.ms": "6000", "transaction.timeout.ms": "10000", **(kafka_extra or {})}
        kafka_lines = "\n".join(f'"{k}" = "{v}"' for k, v in kafka.items())
        self.config.write_text(f"""
instance_id = "{self.instance_id}"
[kafka]
"bootstrap.servers" = "{bootstrap()}"
{kafka_lines}
[topics]
input = "{topics.input}"
results = "{topics.results}"
legacy = "{topics.legacy}"
dead_letter = "{topics.dead_letter}"
metrics = "{topics.metrics}"
alerts = "{topics.alerts}"
flags = "{topics.flags}"
flag_audit = "{topics.flag_audit}"
rollout_evidence = "{topics.rollout_evidence}"
[processing]
group_id = "{topics.group}"
commit_every_events = {commit_events}
commit_every_ms = 100
[admin]
listen = "127.0.0.1:{self.port}"
token_env = "PATCHSTREAM_TEST_TOKEN"
[flags]
store = "{flag_store}"
directory = "{self.dir / 'flags'}"
{extra_toml}
[[flags.declare]]
name = "batch-patches-v1"
enabled = true
percentage = {percentage}
auto_rollback = {"true" if auto_rollback else "false"}
""")
        self.proc = None
        self.log = self.dir / "log.jsonl"
        self.restarts = 0  # fatal exits (status 1) the supervisor restarted
        self._stopping = threading.Event()
        self._supervisor = None

    def _spawn(self):
        env = dict(os.environ, PATCHSTREAM_TEST_TOKEN=TOKEN)
        self.proc = subprocess.Popen([BIN, "run", "-c", str(self.config)], env=env,
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"))
        _SPAWNED.append(self.proc)

    def _supervise(self):
        """Like a process supervisor: a fatal Kafka error exits with status 1 and is restarted."""
        while not self._stopping.is_set():
            proc = self.proc
            if proc.poll() == 1 and not self._stopping.is_set():
                self.restarts += 1
                assert self.restarts <= 5, f"restarted too often: {self.log.read_text()[-3000:]}"
                self._spawn()
            time.sleep(0.1)

    def start(self, wait_ready: bool = True):
        self._stopping.clear()
        self._spawn()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        self._supervisor.start()
        if wait_ready:
            self.wait_ready()
        return self

    def events_handled(self) -> float:
        """patchstream_batches_total + dead letters from /metrics (0 when unreachable)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=1) as r:
                text = r.read().decode()
        except OSError:
            return 0
        total = 0.0
        for line in text.splitlines():
            if line.startswith(("patchstream_batches_total{", "patchstream_dead_letters_total{")):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def wait_ready(self, timeout: float = 60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            code = self.proc.poll()
            assert code in (None, 1), f"processor exited ({code}): {self.log.read_text()[-3000:]}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"processor not ready: {self.log.read_text()[-3000:]}")

    def stop(self, sig=signal.SIGTERM, timeout: float = 30) -> int:
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join()
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def admin(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {TOKEN}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")


def make_batches(n: int, users: int, seed: int = 1, invalid_ratio: float = 0.1,
                 undecodable_ratio: float = 0.01) -> list[tuple[str, str]]:
    """(key, value) patch-batch events: mostly valid, some rejected, a few undecodable."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        doc = f"doc-{rng.randrange(users // 5 or 1)}"
        if rng.random() < undecodable_ratio:
            out.append((doc, rng.choice(["not json", "[1,2,3]", '{"batch_id": 7}', '{"truncated": '])))
            continue
        lines = [f"line {k} of {doc}" for k in range(rng.randrange(1, 12))]
        patches = []
        line = len(lines)
        while line >= 1 and len(patches) < 4:
            op = rng.choice(["insert", "replace", "delete"])
            p = {"op": op, "line": line}
            if op != "delete":
                p["lines"] = [f"b{i} new {rng.randrange(1000)}"]
            patches.append(p)
            line -= rng.randrange(1, 4)
        if not patches:
            patches = [{"op": "insert", "line": 1, "lines": ["first"]}]
        if rng.random() < invalid_ratio:
            patches.append({"op": "delete", "line": len(lines) + 5})  # line_out_of_range
        event = {"batch_id": f"b-{i:06d}", "user_id": f"u-{rng.randrange(users)}", "document_id": doc,
                 "base_revision": rng.randrange(10), "snapshot": lines, "patches": patches}
        out.append((doc, json.dumps(event, separators=(",", ":"))))
    return out


def offline_apply(values: list[str]) -> dict[str, dict]:
    """batch_id → result of `patchstream apply` on the same input (timings removed)."""
    proc = subprocess.run([BIN, "apply"], input="\n".join(values) + "\n", capture_output=True,
                          text=True, check=True)
    results = {}
    for line in proc.stdout.splitlines():
        r = json.loads(line)
        r.pop("timings_us")
        results[r["batch_id"]] = r
    return results


def bucket(user: str, group: str = "batch-patches-v1") -> int:
    """The user's rollout bucket, computed in-process: flags_bucket_mmh3 proves `patchstream bucket`
    equals mmh3 on 6,000 keys, and one process per user made the rollout test take minutes under
    the sanitizers."""
    return mmh3.hash(f"{group}:{user}".encode(), 0, signed=False) % 100 + 1


def start_without_broker(work: Path, port: int, env: dict | None = None,
                         extra_toml: str = "") -> subprocess.Popen:
    """`patchstream run` against an unreachable broker, at-least-once (no init_transactions to
    wait for): the admin server, flag catalog, /metrics and the loop's ticks run without Kafka."""
    config = work / "patchstream.toml"
    config.write_text(f"""
instance_id = "no-broker"
[kafka]
"bootstrap.servers" = "127.0.0.1:1"
[processing]
delivery = "at-least-once"
[admin]
listen = "127.0.0.1:{port}"
{extra_toml}
[flags]
store = "file"
directory = "{work / 'flags'}"
[[flags.declare]]
name = "batch-patches-v1"
enabled = true
percentage = 10
""")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PATCHSTREAM_")}
    log = open(work / "patchstream.log", "wb")
    return subprocess.Popen([BIN, "run", "-c", str(config)], stdout=log, stderr=subprocess.STDOUT,
                            env={**clean, **(env or {})}, cwd=work)
