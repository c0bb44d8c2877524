"""`scripts/demo.py --embedded`: the demo's scenario, shortened, on the toy broker, and a Ctrl-C in the
middle of it; neither leaves a process behind."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import free_port

DEMO = Path(__file__).resolve().parents[2] / "scripts/demo.py"
LABEL = "embedded toy broker (librdkafka mock cluster): no delivery guarantees"
SHORT = ["--embedded", "--wave-seconds", "1", "--burst-seconds", "3", "--alert-window-seconds", "3", "--rate", "500",
         "--users", "500"]


def start_demo(tmp_path, *extra):
    out = tmp_path / "demo.out"
    # Its own process group, as a shell gives a foreground job: a "Ctrl-C" is SIGINT to the group.
    proc = subprocess.Popen([sys.executable, str(DEMO), *SHORT, "--admin-port", str(free_port()), *extra],
                            stdout=open(out, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    return proc, out


def leftovers(needles):
    """Processes whose command line mentions any of `needles` (the demo's work directory, its bootstrap)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(n in cmdline for n in needles):
            found.append(f"{proc.name}: {cmdline}")
    return found


def finish(out_text):
    work = re.search(r"demo: work directory (\S+)", out_text).group(1)
    bootstrap = re.search(r"kcat -b (\S+) ", out_text)
    needles = [work] + ([bootstrap.group(1)] if bootstrap else [])
    time.sleep(0.5)
    left = leftovers(needles)
    shutil.rmtree(work, ignore_errors=True)
    return left


def test_short_scenario_rolls_back_and_recovers(tmp_path):
    proc, out = start_demo(tmp_path)
    try:
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=40)
    text = out.read_text()
    assert code == 0, text[-3000:]
    assert f"demo: starting the {LABEL}" in text
    assert f"broker: {LABEL}" in text
    assert "processor at-least-once" in text
    assert "auto-rollback on the critical alert: yes" in text, text[-3000:]
    assert re.search(r"auto-rollback\s+50 → 0 %", text), text[-3000:]
    assert re.search(r"admin-api\s+50 → 100 %", text), text[-3000:]
    if os.access("/usr/bin/prometheus-alertmanager", os.X_OK):
        # The alert topic reached a real Alertmanager through `patchstream alert-router`: it
        # listed the critical alert while it fired and dropped it once the resolved event came.
        assert re.search(r"alertmanager lists [^|]*PatchstreamErrorRateHigh/critical/pipeline", text), \
            text[-3000:]
        assert "Alertmanager (fed by patchstream alert-router) listed:" in text, text[-3000:]
        assert "PatchstreamErrorRateHigh/critical/pipeline: resolved" in text, text[-3000:]
    assert finish(text) == []


def test_ctrl_c_stops_everything(tmp_path):
    proc, out = start_demo(tmp_path)
    deadline = time.time() + 60
    while "throughput" not in out.read_text():
        assert proc.poll() is None and time.time() < deadline, out.read_text()[-3000:]
        time.sleep(0.2)
    time.sleep(2)  # into the waves: load running, transactions open
    os.killpg(proc.pid, signal.SIGINT)
    code = proc.wait(timeout=45)
    text = out.read_text()
    assert code == 0, text[-3000:]
    assert "demo: interrupted" in text
    work = re.search(r"demo: work directory (\S+)", text).group(1)
    log = Path(work, "patchstream.log").read_text()
    assert '"message":"stopped"' in log, log[-2000:]  # a clean stop, not the shutdown watchdog
    assert "signal 15: stopping" in Path(work, "mock-broker.log").read_text()
    bootstrap = re.search(r'"bootstrap.servers" = "([^"]+)"', Path(work, "patchstream.toml").read_text()).group(1)
    assert leftovers([work, bootstrap]) == []
    shutil.rmtree(work, ignore_errors=True)
