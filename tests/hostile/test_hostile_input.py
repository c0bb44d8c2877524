"""Hostile input through offline `apply` and through Kafka: no crash, bounded memory, and every
input answered by a result or a dead letter with a reason."""
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stream"))
from harness import BIN  # noqa: E402

ID = '"batch_id":"h-{n}","user_id":"u","document_id":"d","base_revision":0'


def corpus():
    """(name, event bytes) pairs; each must yield exactly one result or dead letter."""
    c = [
        ("not json", b"this is not json"),
        ("truncated", b'{"batch_id":"h-1","user_id":"u","document_id":"d","patches":[{"op":'),
        ("deeply nested", b"[" * 100_000 + b"]" * 100_000),
        ("deep inside a batch", ('{' + ID.format(n=2) + ',"snapshot":[],"patches":' ).encode() + b"[" * 5000 + b"]" * 5000 + b"}"),
        ("huge numbers", ('{' + ID.format(n=3) + ',"snapshot":["a"],"patches":[{"op":"delete","line":1e999999}]}').encode()),
        ("huge integer", ('{' + ID.format(n=4) + ',"snapshot":["a"],"patches":[{"op":"delete","line":' + "9" * 5000 + '}]}').encode()),
        ("wrong types", ('{"batch_id":["x"],"user_id":{},"document_id":null,"patches":"no"}').encode()),
        ("wrong content types", ('{' + ID.format(n=5) + ',"snapshot":{"a":1},"patches":[{"op":7,"line":"x","lines":"y"}]}').encode()),
        ("invalid utf-8 in a line", ('{' + ID.format(n=6) + ',"snapshot":["ok"],"patches":[{"op":"replace","line":1,"lines":["').encode() + b"\xc3\x28\xff" + b'"]}]}'),
        ("invalid utf-8 in an id", b'{"batch_id":"h-\xff","user_id":"u","document_id":"d","patches":[]}'),
        ("NUL byte raw", ('{' + ID.format(n=7) + ',"snapshot":["a').encode() + b"\x00" + b'"],"patches":[]}'),
        ("NUL byte escaped", ('{' + ID.format(n=8) + ',"snapshot":["a\\u0000b"],"patches":[{"op":"replace","line":1,"lines":["\\u0000"]}]}').encode()),
        ("duplicate keys", ('{' + ID.format(n=9) + ',"base_revision":1,"snapshot":[],"patches":[]}').encode()),
        ("duplicate id key", b'{"batch_id":"a","batch_id":"b","user_id":"u","document_id":"d","patches":[]}'),
        ("a 10 MB line", ('{' + ID.format(n=10) + ',"snapshot":["').encode() + b"x" * (10 << 20) + b'"],"patches":[{"op":"delete","line":1}]}'),
        ("a 2 MB line in a 4 MB event", ('{' + ID.format(n=11) + ',"snapshot":["').encode() + b"y" * (2 << 20) + b'"],"patches":[{"op":"delete","line":1}]}'),
        ("a million patches", ('{' + ID.format(n=12) + ',"snapshot":["a"],"patches":[').encode() + b",".join([b'{"op":"delete","line":1}'] * 1_000_000) + b"]}"),
        ("20,000 patches", ('{' + ID.format(n=13) + ',"snapshot":["a"],"patches":[').encode() + b",".join([b'{"op":"delete","line":1}'] * 20_000) + b"]}"),
        ("lone surrogate", ('{' + ID.format(n=14) + ',"snapshot":["\\ud800"],"patches":[]}').encode()),
        ("empty line", b""),
        ("whitespace only object", b"{   }"),
        ("array of batches", ('[{' + ID.format(n=15) + ',"snapshot":[],"patches":[]}]').encode()),
    ]
    return c


def test_offline_apply_answers_every_hostile_line_with_bounded_memory(tmp_path):
    cases = [(name, ev) for name, ev in corpus() if ev]  # blank lines are skipped by design
    path = tmp_path / "hostile.ndjson"
    with open(path, "wb") as f:
        for _, ev in cases:
            assert b"\n" not in ev
            f.write(ev + b"\n")
    dead = tmp_path / "dead.jsonl"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run([BIN, "apply", str(path), "--dead-letter", str(dead)], capture_output=True)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    results = [json.loads(l) for l in proc.stdout.decode().splitlines()]
    dead_letters = [json.loads(l) for l in dead.read_text().splitlines()]
    assert len(results) + len(dead_letters) == len(cases), (len(results), len(dead_letters), len(cases))
    for d in dead_letters:
        assert d["code"] in {"not_json", "not_an_object", "invalid_identity", "too_large"} and d["message"]
    for r in results:
        assert (r["status"] == "applied") == (r["violations"] == []), r
        for v in r["violations"]:
            assert v["code"] and v["message"]
    applied = {r["batch_id"]: r for r in results if r["status"] == "applied"}
    assert set(applied) == {"h-8"}, "only the escaped-NUL batch is valid"
    assert applied["h-8"]["lines"] == ["\u0000"], "an escaped NUL survives as data"
    by_line = {d["line"]: d["code"] for d in dead_letters}
    names = [n for n, _ in cases]
    assert by_line[names.index("a 10 MB line") + 1] == "too_large"
    assert by_line[names.index("a million patches") + 1] == "too_large"
    assert by_line[names.index("deeply nested") + 1] == "not_json"
    # Memory stays bounded by the largest accepted event (8 MiB), not by the input (~40 MB).
    assert max(peak_kib, before) < 200 * 1024, f"peak RSS {peak_kib} KiB"


# Topics that let the corpus's 24 MB event through, so the processor's own limits are what it meets.
BIG_TOPICS = ("max.message.bytes=33554432",)


@pytest.mark.parametrize("percentage", [100, 0], ids=["pipeline", "legacy"])
def test_kafka_answers_every_hostile_event_once_and_keeps_running(tmp_path, percentage):
    from harness import Processor, Topics, consume, bootstrap

    cases = corpus()
    topics = Topics(partitions=1, config=BIG_TOPICS)
    proc = Processor(topics, tmp_path, percentage=percentage).start()
    # kcat -l takes one record per line: raw bytes (NUL, invalid UTF-8) pass through unchanged.
    path = tmp_path / "hostile.txt"
    with open(path, "wb") as f:
        for _, ev in cases:
            f.write(b"k\t" + ev + b"\n")
    subprocess.run(["kcat", "-b", bootstrap(), "-t", topics.input, "-P", "-K", "\t", "-z", "lz4",
                    "-X", "message.max.bytes=40000000", "-l", str(path)], check=True)

    outputs = []
    deadline = time.time() + 120
    while time.time() < deadline and len(outputs) < len(cases):
        outputs = [r for t in (topics.results, topics.legacy, topics.dead_letter)
                   for r in consume(t, timeout=0)]
        time.sleep(1)
    status = (proc.dir / "log.jsonl").read_text()[-3000:]
    pid = proc.proc.pid
    peak_kib = int(next(l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM")))
    assert proc.stop() == 0, status
    assert proc.restarts == 0, status

    # Exactly one answer per input offset, in order.
    ids = sorted(int(r["headers"]["ce_id"].rsplit("/", 1)[1]) for r in outputs)
    assert ids == list(range(len(cases))), (ids, status)
    by_offset = {int(r["headers"]["ce_id"].rsplit("/", 1)[1]): r for r in outputs}
    names = [n for n, _ in cases]
    for name in ("a 10 MB line", "a million patches"):
        dead = by_offset[names.index(name)]
        assert dead["topic"] == topics.dead_letter
        assert dead["headers"]["patchstream.errors.code"] == "too_large"
        # The original is too large for the dead-letter record: a prefix travels, marked as such,
        # and the input topic still holds the whole event at the offset the headers name.
        assert dead["headers"]["patchstream.errors.truncated"] == "value"
        assert int(dead["headers"]["patchstream.errors.original_bytes"]) == 1 + len(cases[names.index(name)][1])
        assert len(dead["payload"].encode("utf-8", "surrogateescape")) <= 1_000_000
    assert by_offset[names.index("deeply nested")]["headers"]["patchstream.errors.code"] == "not_json"
    schema = json.loads((Path(__file__).resolve().parents[2] / "schemas/dead-letter.schema.json").read_text())
    headers_schema = jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/kafka_headers"})
    for r in outputs:
        if r["topic"] == topics.dead_letter:
            headers_schema.validate(r["headers"])
        else:
            assert len(r["payload"].encode("utf-8", "surrogateescape")) <= 1_000_000
    if percentage == 0:
        assert by_offset[names.index("a 2 MB line in a 4 MB event")]["topic"] == topics.dead_letter
    # Memory bounded by the limits (8 MiB events, 1 MB outputs), not by the 40 MB of input.
    assert peak_kib < 300 * 1024, f"peak RSS {peak_kib} KiB"
