#!/usr/bin/env python3
# Writes schemas/examples/stream.ndjson: a realistic, deterministic stream of patch-batch events.
"""Five documents are edited in turns. Applied batches chain revisions from 0 and carry the
document as the previous applied batch left it, so the stream gives the same results with and
without `patchstream apply --stateful`. Some batches break one rule each; three lines cannot be
decoded at all. Run it again after changing the stories below."""
import json
import pathlib
import sys

OUT = pathlib.Path(__file__).resolve().parents[2] / "schemas" / "examples" / "stream.ndjson"

DOCS = {
    "cfg/app.toml": [
        "[server]",
        'host = "0.0.0.0"',
        "port = 8080",
        "",
        "[kafka]",
        'brokers = "kafka-0:9092"',
        'input = "patch-batches"',
    ],
    "src/greet.py": [
        "import sys",
        "",
        "def greet(name):",
        '    print("hello " + name)',
        "",
        'if __name__ == "__main__":',
        "    greet(sys.argv[1])",
    ],
    "docs/README.md": [
        "# Orders service",
        "",
        "Takes orders and bills them.",
        "",
        "## Running",
        "    make run",
    ],
    "notes/todo.txt": ["buy milk", "call Ana", "fix the \"flaky\" test", "renew passport"],
    "k8s/deploy.yaml": [
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata:",
        "  name: orders",
        "spec:",
        "  replicas: 2",
    ],
}

USERS = ["u-1001", "u-1002", "u-1003", "u-2040", "u-3177", "u-42"]


def reference_apply(snapshot, patches):
    """Applies a valid batch the ed way: descending line order on a copy."""
    doc = list(snapshot)
    for p in sorted(patches, key=lambda p: p["line"], reverse=True):
        start = p["line"] - 1
        if p["op"] == "insert":
            doc[start:start] = p["lines"]
        else:
            end = p.get("end", p["line"])
            doc[start:end] = p["lines"] if p["op"] == "replace" else []
    return doc


def reference_check(snapshot, patches):
    """The first rule a batch breaks (SPEC §1), or "applied"; shape errors are invalid_batch."""
    if not patches:
        return "empty_batch"
    touched = {}
    n = len(snapshot)
    for p in patches:
        if p.get("op") not in ("insert", "replace", "delete") or p["line"] < 1:
            return "invalid_batch"
        if (p["op"] == "insert") == ("end" in p) and p["op"] == "insert":
            return "invalid_batch"
        if (p["op"] == "delete") == ("lines" in p):
            return "invalid_batch"
    for p in patches:
        if p["op"] == "insert":
            if p["line"] > n + 1:
                return "insert_out_of_bounds"
            lines = [p["line"]]
        else:
            end = p.get("end", p["line"])
            if not p["line"] <= end <= n:
                return "line_out_of_range"
            lines = range(p["line"], end + 1)
        for line in lines:
            if line in touched:
                return "overlapping_patches"
            touched[line] = p
    return "applied"


def ins(line, *lines):
    return {"op": "insert", "line": line, "lines": list(lines)}


def rep(line, *lines, end=None):
    p = {"op": "replace", "line": line}
    if end is not None:
        p["end"] = end
    p["lines"] = list(lines)
    return p


def dele(line, end=None):
    p = {"op": "delete", "line": line}
    if end is not None:
        p["end"] = end
    return p


# (document, patches, expected outcome) in stream order. Expected: "applied" or the violation
# code the batch must be rejected with; "raw:" entries are lines written as they are.
STORY = [
    ("cfg/app.toml", [rep(3, "port = 9090")], "applied"),
    ("src/greet.py", [rep(4, '    print(f"hello {name}")')], "applied"),
    ("docs/README.md", [ins(4, "Bills go out every Monday."), rep(6, "    make run PORT=9090")], "applied"),
    ("notes/todo.txt", [dele(1), rep(3, "fix the \"flaky\" test \u2713")], "applied"),
    ("k8s/deploy.yaml", [rep(6, "  replicas: 3"), ins(7, "  selector:", "    matchLabels:", "      app: orders")], "applied"),
    ("cfg/app.toml", [ins(8, 'dead_letter = "patch-batches.dlq"'), ins(4, "workers = 4")], "applied"),
    ("src/greet.py", [rep(3, "def greet(name, greeting):", end=3), rep(4, "    print(greeting + name)")], "applied"),
    ("src/greet.py", [rep(1, "import os"), dele(1, end=2)], "overlapping_patches"),
    ("notes/todo.txt", [ins(4, "book dentist")], "applied"),
    ("docs/README.md", [dele(9)], "line_out_of_range"),
    ("k8s/deploy.yaml", [ins(11, "  template: {}")], "insert_out_of_bounds"),
    ("cfg/app.toml", [], "empty_batch"),
    ("raw:", '{"batch_id":"b-5013","user_id":"u-1001","document_id":"cfg/app.toml","base_revision":2,"patches":[{"op":"replace","line":2,"lines":["host = \\"::\\""]}', "not_json"),
    ("docs/README.md", [dele(2), ins(1, "<!-- generated, do not edit -->"), rep(3, "Takes orders, bills them and ships them.")], "applied"),
    ("k8s/deploy.yaml", [{"op": "move", "line": 2, "lines": ["kind: StatefulSet"]}], "invalid_batch"),
    ("src/greet.py", [ins(8, "", "# end of file")], "applied"),
    ("notes/todo.txt", [rep(2, "fix the flaky test", end=5)], "line_out_of_range"),
    ("notes/todo.txt", [rep(2, "call Ana about \\\\share\\tmp"), ins(5, "water the plants\twith care")], "applied"),
    ("cfg/app.toml", [dele(6), rep(6, "[kafka] # brokers below")], "overlapping_patches"),
    ("raw:", '["b-5020", "u-2040", "k8s/deploy.yaml"]', "not_an_object"),
    ("cfg/app.toml", [rep(7, 'brokers = "kafka-0:9092,kafka-1:9092"'), dele(2)], "applied"),
    ("k8s/deploy.yaml", [ins(0, "---")], "invalid_batch"),
    ("docs/README.md", [ins(8, "", "## Testing", "    make test")], "applied"),
    ("src/greet.py", [ins(0, "#!/usr/bin/env python3")], "invalid_batch"),
    ("src/greet.py", [ins(12, "# trailing comment")], "insert_out_of_bounds"),
    ("notes/todo.txt", [], "empty_batch"),
    ("k8s/deploy.yaml", [ins(1, "# orders deployment"), dele(3, end=4), ins(10, "  strategy:", "    type: RollingUpdate")], "applied"),
    ("raw:", '{"batch_id":"b-5028","user_id":"u-3177","base_revision":0,"snapshot":[],"patches":[{"op":"insert","line":1,"lines":["orphan"]}]}', "invalid_identity"),
    ("cfg/app.toml", [rep(3, "port = 9091", end=2), ins(1, "# app config")], "line_out_of_range"),
    ("notes/todo.txt", [ins(1, "URGENT"), ins(1, "very urgent")], "overlapping_patches"),
    ("docs/README.md", [{"op": "delete", "line": 3, "lines": []}], "invalid_batch"),
    ("src/greet.py", [rep(9, "# end", "# (c) 2025")], "applied"),
    ("k8s/deploy.yaml", [ins(13, "  revisionHistoryLimit: 5")], "insert_out_of_bounds"),
    ("cfg/app.toml", [ins(1, "# app config"), dele(8)], "applied"),
    ("notes/todo.txt", [rep(1, "call Ana \u260e", end=1), dele(5)], "applied"),
    ("docs/README.md", [rep(2, "")], "applied"),
    ("k8s/deploy.yaml", [{"op": "insert", "line": 2, "end": 2, "lines": ["x"]}], "invalid_batch"),
    ("src/greet.py", [dele(1, end=2)], "applied"),
    ("cfg/app.toml", [ins(5, "timeout_ms = 500"), rep(4, "workers = 8"), ins(9, "dead_letter = \"patch-batches.dlq\"")], "applied"),
    ("notes/todo.txt", [dele(2, end=3)], "applied"),
    ("docs/README.md", [dele(5, end=4)], "line_out_of_range"),
]


def main():
    state = {doc: (0, list(lines)) for doc, lines in DOCS.items()}
    out = []
    for n, (doc, patches, expected) in enumerate(STORY, start=1):
        if doc == "raw:":
            out.append(patches)
            continue
        revision, snapshot = state[doc]
        event = {
            "batch_id": f"b-{5000 + n}",
            "user_id": USERS[n % len(USERS)],
            "document_id": doc,
            "base_revision": revision,
            "snapshot": snapshot,
            "patches": patches,
        }
        out.append(json.dumps(event, ensure_ascii=False, separators=(",", ":")))
        got = reference_check(snapshot, patches)
        if got != expected:
            sys.exit(f"story line {n} ({doc} at revision {revision}, {len(snapshot)} lines): "
                     f"expected {expected}, the reference says {got}")
        if expected == "applied":
            state[doc] = (revision + 1, reference_apply(snapshot, patches))
    OUT.write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"wrote {len(out)} events to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
