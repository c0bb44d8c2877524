"""Shared helpers of the embedded-broker tests: the patchstream binary, free ports, a mock broker."""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

BIN = Path(os.environ.get("PATCHSTREAM_BIN", Path(__file__).resolve().parents[2] / "build/processor/patchstream"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc, timeout=20):
    """SIGTERM, then the exit code; a process that ignores it is killed and fails the test."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"{proc.args[:2]} did not stop within {timeout} s of SIGTERM")


class MockBroker:
    def __init__(self, tmp_path, topics):
        self.bootstrap_file = tmp_path / "bootstrap"
        self.stderr_path = tmp_path / "mock-broker.err"
        self.proc = subprocess.Popen([BIN, "mock-broker", "--topics", topics, "--bootstrap-file", self.bootstrap_file],
                                     stdout=subprocess.PIPE, stderr=open(self.stderr_path, "w"), text=True)
        # stdout's first line is the address; the file is written before it.
        self.bootstrap = self.proc.stdout.readline().strip()
        assert self.bootstrap, f"no bootstrap address; stderr: {self.stderr()}"

    def stderr(self):
        return self.stderr_path.read_text()


@pytest.fixture
def mock_broker(tmp_path):
    brokers = []

    def start(topics):
        broker = MockBroker(tmp_path, topics)
        brokers.append(broker)
        return broker

    yield start
    for b in brokers:
        stop(b.proc)
