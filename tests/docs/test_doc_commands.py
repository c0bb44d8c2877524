"""The commands the docs show, run as shown against a real `patchstream run` (admin API, flags CLI).

The processor runs without a reachable broker (at-least-once, so the admin server and the flag
catalog are up while Kafka is away); every command must succeed (curl gets -fsS so a 4xx fails)."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stream"))
from harness import start_without_broker  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("PATCHSTREAM_BIN", str(ROOT / "build/processor/patchstream"))
TOKEN = "doc-test-token"


def sh_blocks(doc: Path, after: str = "") -> list[list[str]]:
    """Each ```sh block after the heading `after`, as commands (continuation lines joined)."""
    text = doc.read_text()
    if after:
        text = text[text.index(after):]
    blocks = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        blocks.append([l.strip() for l in joined.splitlines() if l.strip() and not l.strip().startswith("#")])
    return blocks


@pytest.fixture(scope="module")
def admin(tmp_path_factory):
    work = tmp_path_factory.mktemp("docs")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = start_without_broker(work, port, env={"DOC_TEST_TOKEN": TOKEN},
                                extra_toml='token_env = "DOC_TEST_TOKEN"')
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        assert proc.poll() is None, (work / "patchstream.log").read_text()
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        assert time.monotonic() < deadline, "no /healthz"
        time.sleep(0.1)
    yield port, base
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def run(command: str, port: int) -> subprocess.CompletedProcess:
    command = command.replace("HOST:9000", f"127.0.0.1:{port}")
    if command.startswith("curl "):
        command = "curl -fsS " + command[len("curl "):]
    env = dict(os.environ, TOKEN=TOKEN, PATCHSTREAM_ADMIN_TOKEN=TOKEN,
               PATCHSTREAM_ADMIN_ADDR=f"http://127.0.0.1:{port}",
               PATH=f"{Path(BIN).parent}:{os.environ['PATH']}")
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=30,
                          cwd=ROOT)


def get_flag(base: str, name: str) -> dict:
    with urllib.request.urlopen(f"{base}/admin/flags/{name}", timeout=5) as r:
        return json.loads(r.read())


def test_admin_api_examples_run_as_shown(admin):
    port, base = admin
    block = sh_blocks(ROOT / "docs/ADMIN-API.md", after="### Examples")[0]
    assert len(block) >= 9
    for command in block:
        done = run(command, port)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    flag = get_flag(base, "search-v2")
    assert (flag["percentage"], flag["revision"], flag["allow_users"]) == (0, 3, ["u-qa-1"])
    assert get_flag(base, "batch-patches-v1")["percentage"] == 0


def test_admin_api_rollout_examples_run_as_shown(admin):
    port, base = admin
    (block,) = sh_blocks(ROOT / "docs/ADMIN-API.md", after="## Rollout plans")[:1]
    assert len(block) == 3
    for command in block:
        done = run(command, port)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    with urllib.request.urlopen(f"{base}/admin/rollouts/batch-patches-v1", timeout=5) as r:
        status = json.loads(r.read())
    assert status["state"] == "aborted" and status["percentage"] == 0, status


def test_operations_flag_commands_run_as_shown(admin):
    port, base = admin
    blocks = [b for b in sh_blocks(ROOT / "docs/OPERATIONS.md") if any("patchstream flags" in c for c in b)]
    assert len(blocks) == 2
    for block in blocks:
        for command in block:
            if command.startswith("export "):
                continue  # the test's environment carries the address and token
            # The doc's example revision is a placeholder: use the flag's current one.
            current = get_flag(base, "batch-patches-v1")["revision"]
            command = re.sub(r"--revision \d+", f"--revision {current}", command)
            done = run(command, port)
            assert done.returncode == 0, (command, done.stdout, done.stderr)
    flag = get_flag(base, "batch-patches-v1")
    assert flag["percentage"] == 0, flag  # the block ends with the runbook rollback
