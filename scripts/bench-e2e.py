#!/usr/bin/env python3
"""End-to-end benchmarks on a real local broker (issue 8): throughput of `patchstream run` next to
the raw consume→produce ceiling (tests/benchmarks/kafka_pipe), latency at fractions of saturation,
resident memory. Prints a markdown table; figures go to docs/BENCHMARKS.md.

  scripts/bench-e2e.py --events 200000 --size small
  scripts/bench-e2e.py --events 4000 --size large
  scripts/bench-e2e.py --events 200000 --size small --latency --soak-seconds 600
"""
import argparse
import json
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
BIN = BUILD / "processor/patchstream"
WARMUP = 5  # seconds of load before latency is measured (the first transaction takes ~0.9 s)
PROBE = BUILD / "tests/benchmarks/latency_probe"
PIPE = BUILD / "tests/benchmarks/kafka_pipe"
BROKER = ROOT / "scripts/kafka-broker.sh"
SIZES = {"small": (50, 10), "large": (5000, 500)}


def child_cpu():
    """CPU seconds (user + system) of the children waited for so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def sh(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True, **kw)


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="patchstream-bench-"))
        self.broker = self.work / "broker"
        self.bootstrap = sh(BROKER, "start", self.broker).stdout.strip().splitlines()[-1]
        self.n = 0

    def topics(self, prefix):
        self.n += 1
        names = {k: f"{prefix}{self.n}-{k}" for k in ("in", "results", "legacy", "dlq", "metrics", "alerts")}
        sh(BROKER, "create-topics", self.broker, f"{names['in']}:3", f"{names['results']}:3",
           f"{names['legacy']}:3", f"{names['dlq']}:1", f"{names['metrics']}:1", f"{names['alerts']}:1")
        return names

    def produce(self, topic, count, rate=0, duration=0):
        lines, patches = SIZES[self.args.size]
        cmd = [BIN, "produce", "--bootstrap", self.bootstrap, "--topic", topic, "--rate", str(rate),
               "--snapshot-lines", str(lines), "--patches", str(patches), "--invalid-ratio", "0",
               "--undecodable-ratio", "0", "--users", "10000", "--documents", "5000"]
        cmd += ["--count", str(count)] if count else ["--duration", str(duration)]
        return subprocess.Popen([str(c) for c in cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def warm_up(self):
        """A fresh broker JVM runs its first minute cold (JIT): the first measured run, always the
        same side, came out markedly slower. An untimed exactly-once pipe run warms it first."""
        self.ceiling(True, events={"small": 100_000, "large": 2_000}[self.args.size])

    def producer_settings(self):
        return [kv.split("=", 1) for kv in self.args.producer]

    def pipe_extra(self):
        return [a for k, v in self.producer_settings() for a in ("-X", f"{k}={v}")]

    def ceiling(self, exactly_once, events=None):
        events = events or self.args.events
        t = self.topics("pipe")
        self.produce(t["in"], events).wait()
        cmd = [PIPE, "--bootstrap", self.bootstrap, "--input", t["in"], "--output", t["results"],
               "--group", f"pipe-{self.n}", "--expect", str(events),
               "--commit-ms", str(self.args.commit_ms), "--commit-events", str(self.args.commit_events),
               *self.pipe_extra()]
        if not exactly_once:
            cmd.append("--at-least-once")
        before = child_cpu()
        rate = json.loads(sh(*cmd).stdout)["events_per_second"]
        return rate, (child_cpu() - before) / events * 1e3

    def start_processor(self, t, exactly_once, port, profile=None):
        cfg = self.work / f"p{self.n}.toml"
        cfg.write_text(f"""
instance_id = "bench-{self.n}"
[kafka]
"bootstrap.servers" = "{self.bootstrap}"
{"".join(f'"{k}" = "{v}"{chr(10)}' for k, v in self.producer_settings())}[topics]
input = "{t['in']}"
results = "{t['results']}"
legacy = "{t['legacy']}"
dead_letter = "{t['dlq']}"
metrics = "{t['metrics']}"
alerts = "{t['alerts']}"
[processing]
group_id = "bench-{self.n}"
delivery = "{'exactly-once' if exactly_once else 'at-least-once'}"
commit_every_ms = {self.args.commit_ms}
commit_every_events = {self.args.commit_events}
[admin]
listen = "127.0.0.1:{port}"
[flags]
directory = "{self.work / f'flags{self.n}'}"
[log]
level = "warn"
[[flags.declare]]
name = "batch-patches-v1"
enabled = true
percentage = {self.args.percentage}
""")
        # profile: `perf record` around the processor (stopped with SIGINT, which perf passes on).
        wrap = ["perf", "record", "-F", "499", "-g", "-o", str(profile), "--"] if profile else []
        p = subprocess.Popen([*wrap, str(BIN), "run", "-c", str(cfg)], stdout=subprocess.DEVNULL,
                             stderr=open(self.work / f"p{self.n}.log", "w"))
        return p

    def scrape(self, port):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                text = r.read().decode()
        except OSError:
            return 0, 0
        total = sum(float(v) for v in re.findall(r'^patchstream_batches_total\{[^}]*\} (\S+)$', text, re.M))
        rss = float((re.findall(r'^process_resident_memory_bytes (\S+)$', text, re.M) or ["0"])[0])
        return total, rss

    def throughput(self, exactly_once):
        t = self.topics("ps")
        self.produce(t["in"], self.args.events).wait()
        port = 19700 + self.n
        profile = None
        if self.args.perf:
            profile = Path(self.args.perf).with_suffix(f".{'eos' if exactly_once else 'alo'}.data")
        before = child_cpu()
        p = self.start_processor(t, exactly_once, port, profile)
        first_t = first_n = None
        peak_rss = 0
        while True:
            if p.poll() is not None:
                raise SystemExit(f"patchstream run exited with {p.returncode}: see {self.work}/p{self.n}.log (--keep keeps it)")
            n, rss = self.scrape(port)
            peak_rss = max(peak_rss, rss)
            now = time.time()
            if n > 0 and first_t is None:
                first_t, first_n = now, n
            if n >= self.args.events:
                break
            time.sleep(0.05)
        p.send_signal(signal.SIGINT if profile else signal.SIGTERM)
        p.wait(timeout=30)
        cpu_ms = (child_cpu() - before) / self.args.events * 1e3
        rate = (n - first_n) / (now - first_t)
        event_bytes = {"small": 3.4e3, "large": 313e3}[self.args.size]
        return rate, rate * event_bytes / 1e6, peak_rss, cpu_ms

    def latency(self, rate, seconds=20, pipe=False):
        """produce time → visible to a read_committed consumer, at `rate` events/s; pipe: the same
        through kafka_pipe (exactly-once, same commit interval), the ceiling's latency."""
        t = self.topics("lat")
        port = 19800 + self.n
        if pipe:
            p = subprocess.Popen([str(PIPE), "--bootstrap", self.bootstrap, "--input", t["in"],
                                  "--output", t["results"], "--group", f"pipe-lat-{self.n}",
                                  "--commit-ms", str(self.args.commit_ms), "--commit-events", str(self.args.commit_events),
                                  "--expect", "1000000000", *self.pipe_extra()],
                                 stdout=subprocess.PIPE, text=True)
            time.sleep(5)  # joined (the broker delays a new group's first rebalance by 3 s)
        else:
            p = self.start_processor(t, True, port)
        while not pipe and self.scrape(port)[0] == 0 and p.poll() is None:
            # Warm up: wait until the processor has joined its group and handled one event.
            self.produce(t["in"], 1).wait()
            time.sleep(0.5)
        # The probe (tests/benchmarks/latency_probe) reads the input's CreateTime and the results
        # as a read_committed consumer in one C++ process: no JSON parsing on the measuring side.
        probe = subprocess.Popen([str(PROBE), "--bootstrap", self.bootstrap, "--input", t["in"],
                                  "--results", t["legacy" if self.args.percentage == 0 and not pipe else "results"],
                                  "--group", f"probe-{self.n}",
                                  "--warmup-seconds", str(WARMUP)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        probe.stderr.readline()  # "ready: N partitions" once the group has assigned them
        trace = open(self.work / f"probe{self.n}.log", "w")
        threading.Thread(target=lambda: trace.writelines(probe.stderr), daemon=True).start()
        self.produce(t["in"], 0, rate=rate, duration=WARMUP + seconds).wait()
        out, _ = probe.communicate(timeout=120)
        loop_figures = None if pipe else self.loop_figures(port)
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
        result = json.loads(out)
        if pipe:
            result["commits"] = json.loads(p.stdout.read())
        else:
            result["loop"] = loop_figures
        return result

    def loop_figures(self, port):
        """The processor's own view of its loop: commits, their mean duration, fetcher wake-ups."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                text = r.read().decode()
        except OSError:
            return None
        def value(name):
            m = re.search(rf'^{name} (\S+)$', text, re.M)
            return float(m.group(1)) if m else 0.0
        commits = value("patchstream_commit_duration_seconds_count")
        return {"commits": int(commits),
                "commit_ms_mean": value("patchstream_commit_duration_seconds_sum") / max(commits, 1) * 1e3,
                "wakeups": int(value("patchstream_fetcher_wakeups_total"))}

    def soak(self, rate, seconds):
        t = self.topics("soak")
        port = 19900 + self.n
        p = self.start_processor(t, True, port)
        prod = self.produce(t["in"], 0, rate=rate, duration=seconds)
        samples = []
        t0 = time.time()
        while prod.poll() is None:
            samples.append((time.time() - t0, self.scrape(port)[1] / 2**20))
            time.sleep(10)
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
        return samples

    def stop(self):
        subprocess.run([str(BROKER), "stop", str(self.broker)], capture_output=True)
        # Each large run writes gigabytes of log segments: keep them only when asked.
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print(f"\nbroker data and logs kept in {self.work}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--size", choices=SIZES, default="small")
    ap.add_argument("--latency", action="store_true")
    ap.add_argument("--repeat", type=int, default=1, help="runs per mode (throughput) or per load (latency), each ceiling then patchstream")
    ap.add_argument("--keep", action="store_true", help="keep the broker's data and the logs")
    ap.add_argument("--percentage", type=int, default=100,
                    help="rollout percentage of the flag: 100 every event through the pipeline, 0 all forwarded to legacy (latency runs support only these two)")
    ap.add_argument("--soak-seconds", type=int, default=0)
    ap.add_argument("--commit-ms", type=int, default=100, help="processing.commit_every_ms (the pipe's --commit-ms)")
    ap.add_argument("--commit-events", type=int, default=5000,
                    help="processing.commit_every_events (the pipe's --commit-events)")
    ap.add_argument("--producer", action="append", default=[], metavar="KEY=VALUE",
                    help="a librdkafka producer property for both the processor ([kafka]) and the pipe (-X)")
    ap.add_argument("--perf", metavar="FILE",
                    help="profile the processor in the throughput runs: perf record into FILE.eos.data / FILE.alo.data")
    ap.add_argument("--saturation", type=int, default=0,
                    help="skip the throughput runs and take this as saturation (events/s)")
    ap.add_argument("--loads", type=lambda v: [float(x) for x in v.split(",")], default=[0.25, 0.5, 0.8],
                    help="latency runs at these fractions of saturation")
    args = ap.parse_args()
    b = Bench(args)
    try:
        b.warm_up()
        print(f"| {args.size} batches, {args.events} events | ceiling (kafka_pipe) | patchstream | share | MB/s | peak RSS | CPU per event: pipe / patchstream |")
        print("|---|---|---|---|---|---|---|")
        sat = args.saturation or None
        rates = []
        # Repetitions alternate ceiling and processor, so drift on the shared machine hits both.
        for _ in range(0 if args.saturation else args.repeat):
            for eo in (True, False):
                ceil, pipe_cpu = b.ceiling(eo)
                rate, mbs, rss, cpu = b.throughput(eo)
                if eo:
                    rates.append(rate)
                mode = "exactly-once" if eo else "at-least-once"
                print(f"| {mode} | {ceil:,.0f}/s | {rate:,.0f}/s | {rate / ceil * 100:.0f} % | {mbs:.0f} | {rss / 2**20:.0f} MiB | {pipe_cpu * 1e3:.0f} / {cpu * 1e3:.0f} µs |", flush=True)
        sat = sat or (sorted(rates)[len(rates) // 2] if rates else None)
        if args.latency:
            print("\n| load (exactly-once) | samples | p50 | p95 | p99 | max | input readable p50 / p99 |\n|---|---|---|---|---|---|---|")
            for frac in [f for _ in range(args.repeat) for f in args.loads]:
                for pipe in (False, True):
                    r = b.latency(int(sat * frac), pipe=pipe)
                    who = "kafka_pipe (ceiling)" if pipe else "patchstream"
                    if not pipe and r.get("loop"):
                        c = r["loop"]
                        print(f"<!-- patchstream commits: {c['commits']}, took {c['commit_ms_mean']:.1f} ms on average; fetcher wake-ups: {c['wakeups']} -->")
                    if pipe:
                        c = r["commits"]
                        print(f"<!-- kafka_pipe commits: {c['commits']}, took p50 {c['commit_ms_p50']} ms, p99 {c['commit_ms_p99']} ms, max {c['commit_ms_max']} ms -->")
                    print(f"| {frac * 100:.0f} % of saturation ({int(sat * frac):,}/s), {who} | {r['samples']} | {r['p50']:.1f} ms | {r['p95']:.1f} ms | {r['p99']:.1f} ms | {r['max']:.1f} ms | {r['input_p50']:.1f} / {r['input_p99']:.1f} ms |", flush=True)
        if args.soak_seconds:
            s = b.soak(int(sat * 0.5), args.soak_seconds)
            print("\nRSS over the soak (s, MiB): " + ", ".join(f"{t:.0f}:{m:.0f}" for t, m in s))
    finally:
        b.stop()


if __name__ == "__main__":
    main()
