# Real `patchstream apply` output validates against the schemas and matches SPEC §2 and the example stream's story.
import json

import pytest

import make_stream
from conftest import EXAMPLES, load_json

STREAM = EXAMPLES / "stream.ndjson"


def _errors(validator, doc):
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


def _check_result_consistency(r):
    # What the schema cannot say: the revision arithmetic of SPEC §1 invariant 6.
    if r["status"] == "applied":
        assert r["revision"] == r["base_revision"] + 1
        assert r["patches_applied"] >= 1
    else:
        assert r["revision"] == r["base_revision"]


@pytest.fixture(scope="module", params=[[], ["--stateful"]], ids=["stateless", "stateful"])
def stream_run(request, run_apply):
    return run_apply(STREAM.read_text(encoding="utf-8"), *request.param)


def test_every_output_line_validates(stream_run, validator_for):
    result_schema = validator_for("patch-result")
    dead_schema = validator_for("dead-letter")
    assert stream_run.results and stream_run.dead_letters
    for line, r in zip(stream_run.result_lines, stream_run.results):
        assert not _errors(result_schema, r), line
        assert r["flag"] is None  # offline: no flag involved
        _check_result_consistency(r)
    for line, d in zip(stream_run.dead_letter_lines, stream_run.dead_letters):
        assert not _errors(dead_schema, d), line


def test_stream_outcomes_follow_the_story(stream_run):
    story = make_stream.STORY
    state = {doc: list(lines) for doc, lines in make_stream.DOCS.items()}
    outcomes = stream_run.outcomes(len(story))
    seen = set()
    for n, ((doc, patches, expected), (kind, out)) in enumerate(zip(story, outcomes), start=1):
        seen.add(expected)
        if doc == "raw:":
            assert kind == "dead" and out["code"] == expected, (n, out)
            continue
        assert kind == "result", (n, out)
        if expected == "applied":
            assert out["status"] == "applied", (n, out)
            state[doc] = make_stream.reference_apply(state[doc], patches)
            assert out["lines"] == state[doc], n
        else:
            assert out["status"] == "rejected", (n, out)
            assert expected in {v["code"] for v in out["violations"]}, (n, out)
    # The stream exercises every rule a realistic producer can break offline.
    assert seen >= {"applied", "overlapping_patches", "line_out_of_range", "insert_out_of_bounds",
                    "empty_batch", "invalid_batch", "not_json", "not_an_object", "invalid_identity"}
    assert sum(1 for doc, *_ in story if doc == "raw:") == 3


def test_stateless_and_stateful_agree_on_the_stream(run_apply):
    text = STREAM.read_text(encoding="utf-8")
    strip = lambda run: [{k: v for k, v in r.items() if k != "timings_us"} for r in run.results]
    stateless, stateful = run_apply(text), run_apply(text, "--stateful")
    assert strip(stateless) == strip(stateful)
    assert stateless.dead_letters == stateful.dead_letters


def test_spec_example_gives_the_spec_result(run_apply, validator_for):
    event = load_json(EXAMPLES / "patch-batch" / "spec.json")
    expected = load_json(EXAMPLES / "patch-result" / "spec-applied.json")
    run = run_apply(json.dumps(event) + "\n")
    assert not run.dead_letters
    [result] = run.results
    assert not _errors(validator_for("patch-result"), result)
    assert result["flag"] is None
    assert set(result["timings_us"]) == {"parse", "normalize", "execute", "total"}
    ignore = {"timings_us", "flag"}
    assert {k: v for k, v in result.items() if k not in ignore} == \
        {k: v for k, v in expected.items() if k not in ignore}
    # Field order is SPEC §2's too.
    assert list(result) == list(expected)


def test_overlapping_example_gives_the_rejected_example(run_apply):
    event = load_json(EXAMPLES / "patch-batch" / "overlapping.json")
    expected = load_json(EXAMPLES / "patch-result" / "rejected-overlapping.json")
    [result] = run_apply(json.dumps(event) + "\n").results
    ignore = {"timings_us", "flag"}
    assert {k: v for k, v in result.items() if k not in ignore} == \
        {k: v for k, v in expected.items() if k not in ignore}


def test_too_large_results_and_dead_letters_validate(run_apply, validator_for):
    events = [
        {"batch_id": "b-1", "user_id": "u-1", "document_id": "d-1", "base_revision": 0,
         "snapshot": ["a line longer than the limit"], "patches": [{"op": "delete", "line": 1}]},
        {"batch_id": "b-2", "user_id": "u-1", "document_id": "d-1", "base_revision": 0,
         "snapshot": ["a", "b", "c"], "patches": [{"op": "delete", "line": n} for n in (1, 2, 3)]},
        {"batch_id": "b-3", "user_id": "u-1", "document_id": "d-1", "base_revision": 0,
         "snapshot": ["x" * 3000], "patches": [{"op": "delete", "line": 1}]},
    ]
    run = run_apply("".join(json.dumps(e) + "\n" for e in events),
                    "--max-line-bytes", "16", "--max-patches", "2", "--max-event-bytes", "2048")
    [first, second] = run.results
    [dead] = run.dead_letters
    for r in (first, second):
        assert r["status"] == "rejected"
        assert [v["code"] for v in r["violations"]] == ["too_large"]
        assert not _errors(validator_for("patch-result"), r)
    assert dead["line"] == 3 and dead["code"] == "too_large"
    assert not _errors(validator_for("dead-letter"), dead)


def test_hostile_strings_round_trip_as_valid_json(run_apply, validator_for):
    lines = ["quote \" backslash \\ tab \t nul \u0000 bell \u0007", "ünïcödé ✓ 𝄞", "</script>", ""]
    event = {"batch_id": "b-\"1\"", "user_id": "u\\1", "document_id": "d\n1", "base_revision": 7,
             "snapshot": ["old"], "patches": [{"op": "replace", "line": 1, "lines": lines}]}
    [r] = run_apply(json.dumps(event, ensure_ascii=False) + "\n").results
    assert not _errors(validator_for("patch-result"), r)
    assert (r["batch_id"], r["user_id"], r["document_id"]) == ("b-\"1\"", "u\\1", "d\n1")
    assert r["lines"] == lines and r["revision"] == 8
