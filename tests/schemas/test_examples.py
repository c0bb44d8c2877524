# Every schema is a valid 2020-12 schema, every shipped example validates, known-bad variants do not.
import copy
import json
import pathlib
import re

import jsonschema
import pytest

from conftest import EXAMPLES, REPO, SCHEMA_FILES, load_json

# Example folder -> (schema stem, JSON pointer into it).
EXAMPLE_DIRS = {
    "patch-batch": ("patch-batch", ""),
    "patch-result": ("patch-result", ""),
    "dead-letter": ("dead-letter", ""),
    "dead-letter-headers": ("dead-letter", "/$defs/kafka_headers"),
    "metric-event": ("metric-event", ""),
    "alert-event": ("alert-event", ""),
}
EXAMPLE_FILES = sorted(EXAMPLES.glob("*/*.json"))


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_is_valid_2020_12(path):
    schema = load_json(path)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"].startswith("urn:patchstream:schema:")


def test_schema_ids_are_unique(schemas):
    ids = [s["$id"] for s in schemas.values()]
    assert len(ids) == len(set(ids))


def test_every_example_folder_has_a_schema_and_examples():
    folders = {p.name for p in EXAMPLES.iterdir() if p.is_dir()}
    assert folders == set(EXAMPLE_DIRS)
    for folder in folders:
        assert list((EXAMPLES / folder).glob("*.json")), folder


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_example_is_valid(path, validator_for):
    name, pointer = EXAMPLE_DIRS[path.parent.name]
    errors = list(validator_for(name, pointer).iter_errors(load_json(path)))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_stream_events_decode_as_the_story_says(validator_for):
    # Lines that the pipeline answers are schema-valid unless the story marks them invalid_batch.
    import make_stream
    lines = (EXAMPLES / "stream.ndjson").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(make_stream.STORY)
    batch = validator_for("patch-batch", "/$defs/stateless")
    for line, (doc, _, expected) in zip(lines, make_stream.STORY):
        if doc == "raw:":
            continue
        assert batch.is_valid(json.loads(line)) == (expected != "invalid_batch"), line


def test_stream_file_is_what_the_generator_writes(tmp_path, monkeypatch):
    import make_stream
    shipped = (EXAMPLES / "stream.ndjson").read_text(encoding="utf-8")
    monkeypatch.setattr(make_stream, "OUT", tmp_path / "stream.ndjson")
    make_stream.main()
    assert (tmp_path / "stream.ndjson").read_text(encoding="utf-8") == shipped


def _spec_blocks():
    spec = REPO.parent / "shared" / "SPEC.md"
    if not spec.exists():
        pytest.skip(f"{spec} not present")
    text = spec.read_text(encoding="utf-8")
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, re.S)]


def test_examples_are_the_spec_examples():
    blocks = _spec_blocks()
    assert load_json(EXAMPLES / "patch-batch" / "spec.json") in blocks
    assert load_json(EXAMPLES / "patch-result" / "spec-applied.json") in blocks


# Variants that must NOT validate: (schema, example file, mutation, why).
def _without(key):
    return lambda d: d.pop(key)


def _set(path, value):
    def mutate(d):
        *parents, last = path
        for p in parents:
            d = d[p]
        d[last] = value
    return mutate


INVALID_VARIANTS = [
    ("patch-result", "spec-applied.json", _without("lines"), "applied without lines"),
    ("patch-result", "spec-applied.json", _set(["violations"], [{"code": "empty_batch", "patch": None, "message": "x"}]), "applied with violations"),
    ("patch-result", "spec-applied.json", _set(["flag", "bucket"], 0), "bucket is 1..100"),
    ("patch-result", "spec-applied.json", _set(["route"], "legacy"), "results come from the pipeline"),
    ("patch-result", "spec-applied.json", _without("timings_us"), "timings required"),
    ("patch-result", "rejected-overlapping.json", _set(["lines"], ["x"]), "rejected with lines"),
    ("patch-result", "rejected-overlapping.json", _set(["violations"], []), "rejected without violations"),
    ("patch-result", "rejected-overlapping.json", _set(["violations", 0, "code"], "overlap"), "unknown code"),
    ("patch-result", "rejected-overlapping.json", _set(["patches_applied"], 1), "rejected applies nothing"),
    ("dead-letter", "not-json.json", _set(["code"], "invalid_batch"), "invalid_batch is a result, not a dead letter"),
    ("dead-letter", "not-json.json", _set(["line"], 0), "lines are 1-based"),
    ("dead-letter-headers", "invalid-identity.json", _without("patchstream.errors.offset"), "offset header required"),
    ("dead-letter-headers", "invalid-identity.json", _set(["ce_type"], "patchstream.result.v1"), "dead-letter ce_type"),
    ("metric-event", "window.json", _set(["routes", "pipeline", "error_rate"], 1.5), "rate is 0..1"),
    ("metric-event", "window.json", _set(["window_end"], "yesterday"), "date-time format"),
    ("metric-event", "window.json", _set(["routes", "canary"], {}), "routes are pipeline and legacy"),
    ("alert-event", "firing.json", _set(["labels", "severity"], "page"), "severity enum"),
    ("alert-event", "firing.json", _without("endsAt"), "endsAt required"),
    ("alert-event", "firing.json", _set(["startsAt"], "2025-06-02 09:14"), "RFC 3339 date-time"),
    ("alert-event", "firing.json", _set(["annotations", "runbook_url"], 42), "annotation values are strings"),
    ("alert-event", "firing.json", _set(["labels", "team"], 7), "label values are strings"),
]


@pytest.mark.parametrize("name,example,mutate,why", INVALID_VARIANTS, ids=[v[3] for v in INVALID_VARIANTS])
def test_invalid_variant_is_rejected(name, example, mutate, why, validator_for):
    schema_name, pointer = EXAMPLE_DIRS[name]
    doc = copy.deepcopy(load_json(EXAMPLES / name / example))
    mutate(doc)
    assert not validator_for(schema_name, pointer).is_valid(doc), why
