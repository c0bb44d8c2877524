# The decoder/schema agreement corpus: patch-batch events, well-formed and broken in every way we know.
"""Each case is (name, event, valid): `event` is a dict (serialized compactly), a str or bytes (sent
as they are); `valid` is what SPEC §1/§2 say: may the pipeline answer it without invalid_batch or a
dead letter? KNOWN_DISAGREEMENTS and SCHEMA_BLIND_SPOTS are kept apart: there the schema cannot
follow the decoder (see the test for why)."""
import copy
import json


DROP = object()


def changed(value, changes):
    """A copy of `value` with keys set, or removed where the new value is DROP."""
    out = dict(value)
    for key, new in changes.items():
        if new is DROP:
            out.pop(key)
        else:
            out[key] = new
    return out


def base(**changes):
    """A valid event with top-level fields changed."""
    return changed({
        "batch_id": "b-1",
        "user_id": "u-1",
        "document_id": "doc-1",
        "base_revision": 0,
        "snapshot": ["one", "two", "three"],
        "patches": [patch()],
    }, changes)


def patch(**fields):
    """A valid replace patch with fields changed."""
    return changed({"op": "replace", "line": 2, "lines": ["TWO"]}, fields)


def with_patch(p):
    return base(patches=[p])


def raw(event, **replace_literals):
    """Serialized event with some values written as literal JSON text (e.g. 1.0, NaN)."""
    text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    for marker, literal in replace_literals.items():
        text = text.replace(json.dumps(marker), literal)
    return text


SPEC_EXAMPLE = {
    "batch_id": "b-000123", "user_id": "u-42", "document_id": "doc-7", "base_revision": 3,
    "snapshot": ["line one", "line two", "line three"],
    "patches": [{"op": "replace", "line": 2, "lines": ["LINE TWO"]},
                {"op": "insert", "line": 4, "lines": ["appended"]},
                {"op": "delete", "line": 1}],
}

VALID = [
    ("minimal replace", base()),
    ("spec example", SPEC_EXAMPLE),
    ("delete with end", with_patch({"op": "delete", "line": 1, "end": 3})),
    ("replace with end", with_patch({"op": "replace", "line": 1, "end": 2, "lines": ["a", "b", "c"]})),
    ("insert at the top", with_patch({"op": "insert", "line": 1, "lines": ["zero"]})),
    ("insert appends at len+1", with_patch({"op": "insert", "line": 4, "lines": ["four", "five"]})),
    ("empty patches: empty_batch is a rule", base(patches=[])),
    ("empty snapshot, insert", base(snapshot=[], patches=[{"op": "insert", "line": 1, "lines": ["x"]}])),
    ("empty snapshot and no patches", base(snapshot=[], patches=[])),
    ("no snapshot (stateful only)", base(snapshot=DROP)),
    ("base_revision 2^53-2", base(base_revision=9007199254740990)),
    ("base_revision -0", raw(base(base_revision="@R"), **{"@R": "-0"})),
    ("line out of range is a rule", with_patch(patch(line=99))),
    ("insert out of bounds is a rule", with_patch({"op": "insert", "line": 9, "lines": ["x"]})),
    ("overlap is a rule", base(patches=[patch(), {"op": "delete", "line": 1, "end": 2}])),
    ("end before line is a rule", with_patch({"op": "delete", "line": 3, "end": 2})),
    ("line at u64 max is a rule", with_patch(patch(line=18446744073709551615))),
    ("empty string line", with_patch(patch(lines=[""]))),
    ("unicode text", base(snapshot=["ünïcödé", "✓ 𝄞", "日本語"], patches=[patch(lines=["€"])])),
    ("escapes", raw(base(snapshot=["a\"b", "c\\d", "tab\tnl\n"], patches=[patch(lines=["\u0000\u001f/"])]))),
    ("escaped keys", raw(base()).replace('"batch_id"', '"batch\\u005fid"')),
    ("key order shuffled", {"patches": [{"lines": ["TWO"], "line": 2, "op": "replace"}],
                            "snapshot": ["one", "two", "three"], "base_revision": 1,
                            "document_id": "doc-1", "user_id": "u-1", "batch_id": "b-1"}),
    ("surrounding whitespace", "  " + raw(base()) + " \t"),
    ("pretty printed on one line", json.dumps(base(), indent=None, separators=(" , ", " : "))),
    ("all three ops", base(patches=[{"op": "insert", "line": 1, "lines": ["0"]},
                                    {"op": "replace", "line": 2, "lines": ["2"]},
                                    {"op": "delete", "line": 3}])),
]

INVALID = [
    # identity (dead letters)
    ("missing batch_id", base(batch_id=DROP)),
    ("missing user_id", base(user_id=DROP)),
    ("missing document_id", base(document_id=DROP)),
    ("batch_id number", base(batch_id=17)),
    ("user_id null", base(user_id=None)),
    ("document_id empty", base(document_id="")),
    ("batch_id array", base(batch_id=["b-1"])),
    ("user_id object", base(user_id={"id": "u-1"})),
    # base_revision
    ("missing base_revision", base(base_revision=DROP)),
    ("base_revision string", base(base_revision="3")),
    ("base_revision negative", base(base_revision=-1)),
    ("base_revision 2^53-1", base(base_revision=9007199254740991)),
    ("base_revision huge", base(base_revision=10**30)),
    ("base_revision null", base(base_revision=None)),
    ("base_revision true", base(base_revision=True)),
    ("base_revision fraction", base(base_revision=2.5)),
    ("base_revision NaN", raw(base(base_revision="@R"), **{"@R": "NaN"})),
    ("base_revision Infinity", raw(base(base_revision="@R"), **{"@R": "Infinity"})),
    # top level
    ("unknown top-level key", base(meta={"source": "web"})),
    ("misspelt snapshot", base(snapshot=DROP, snapshots=["one"])),
    ("snapshot null", base(snapshot=None)),
    ("snapshot string", base(snapshot="one\ntwo")),
    ("snapshot item number", base(snapshot=["one", 2, "three"])),
    ("snapshot item null", base(snapshot=["one", None])),
    ("snapshot item array", base(snapshot=[["one"]])),
    ("missing patches", base(patches=DROP)),
    ("patches object", base(patches={"0": patch()})),
    ("patches null", base(patches=None)),
    ("patches string", base(patches="replace 2")),
    # patch shape
    ("patch null", base(patches=[None])),
    ("patch string", base(patches=["replace 2 TWO"])),
    ("patch array", base(patches=[["replace", 2, ["TWO"]]])),
    ("patch number", base(patches=[2])),
    ("second patch broken", base(patches=[patch(), {"op": "delete"}])),
    # op
    ("op missing", with_patch(patch(op=DROP))),
    ("op unknown", with_patch(patch(op="append"))),
    ("op uppercase", with_patch(patch(op="REPLACE"))),
    ("op number", with_patch(patch(op=1))),
    ("op null", with_patch(patch(op=None))),
    # line / end
    ("line missing", with_patch(patch(line=DROP))),
    ("line zero", with_patch(patch(line=0))),
    ("line negative", with_patch(patch(line=-1))),
    ("line string", with_patch(patch(line="2"))),
    ("line null", with_patch(patch(line=None))),
    ("line true", with_patch(patch(line=True))),
    ("line 2^64", with_patch(patch(line=2**64))),
    ("line 10^30", with_patch(patch(line=10**30))),
    ("line fraction", with_patch(patch(line=1.5))),
    ("line -1.0", raw(with_patch(patch(line="@L")), **{"@L": "-1.0"})),
    ("line 0.0", raw(with_patch(patch(line="@L")), **{"@L": "0.0"})),
    ("end zero", with_patch({"op": "delete", "line": 1, "end": 0})),
    ("end string", with_patch({"op": "delete", "line": 1, "end": "2"})),
    ("end null", with_patch({"op": "delete", "line": 1, "end": None})),
    ("end on insert", with_patch({"op": "insert", "line": 1, "end": 1, "lines": ["x"]})),
    # lines
    ("lines on delete", with_patch({"op": "delete", "line": 1, "lines": ["x"]})),
    ("empty lines on delete", with_patch({"op": "delete", "line": 1, "lines": []})),
    ("lines missing on insert", with_patch({"op": "insert", "line": 1})),
    ("lines missing on replace", with_patch(patch(lines=DROP))),
    ("empty lines on insert", with_patch({"op": "insert", "line": 1, "lines": []})),
    ("empty lines on replace", with_patch(patch(lines=[]))),
    ("lines string", with_patch(patch(lines="TWO"))),
    ("lines item number", with_patch(patch(lines=["a", 2]))),
    ("lines item null", with_patch(patch(lines=[None]))),
    ("lines nested array", with_patch(patch(lines=[["TWO"]]))),
    ("lines item object", with_patch(patch(lines=[{"text": "TWO"}]))),
    ("unknown patch key", with_patch(patch(comment="why"))),
    ("text instead of lines", with_patch(patch(lines=DROP, text="TWO"))),
    # not an object / not JSON / not UTF-8
    ("root array", [base()]),
    ("root string", "\"b-1\""),
    ("root number", "42"),
    ("root null", "null"),
    ("root true", "true"),
    ("empty object", {}),
    ("not JSON", "nonsense"),
    ("truncated", raw(base())[:-7]),
    ("trailing garbage", raw(base()) + " x"),
    ("two objects", raw(base()) + raw(base())),
    ("single quotes", raw(base()).replace('"', "'")),
    ("trailing comma", raw(base())[:-1] + ",}"),
    ("byte order mark", "\ufeff" + raw(base())),
    ("invalid UTF-8 in snapshot", raw(base(snapshot=["@S"])).encode().replace(b"@S", b"caf\xe9")),
    ("invalid UTF-8 in lines", raw(with_patch(patch(lines=["@S"])))
     .encode().replace(b"@S", b"\xff\xfe")),
    ("line with leading zero", raw(with_patch(patch(line="@L")), **{"@L": "02"})),
    ("line with plus sign", raw(with_patch(patch(line="@L")), **{"@L": "+2"})),
    ("op unquoted", raw(with_patch(patch(op="@O")), **{"@O": "replace"})),
    ("truncated literal in snapshot", raw(base(snapshot=["@S"])).replace('"@S"', "tru")),
    ("bad escape in lines", raw(with_patch(patch(lines=["@S"]))).replace("@S", "a\\x")),
    ("raw tab in a string", raw(base(snapshot=["@S"])).replace("@S", "a\tb")),
    ("raw control character in batch_id", raw(base(batch_id="@S")).replace("@S", "b\u0001")),
    ("invalid UTF-8 in batch_id", raw(base(batch_id="@S")).encode().replace(b"@S", b"b-\xc3")),
]

# JSON Schema's data model has no integer/float distinction: 1.0 *is* the integer 1, so the schema
# must accept it; the decoder (simdjson get_uint64/get_int64) rejects any number written with a
# fraction or exponent as invalid_batch.
KNOWN_DISAGREEMENTS = [
    ("line 2.0", raw(with_patch(patch(line="@L")), **{"@L": "2.0"})),
    ("line 2e0", raw(with_patch(patch(line="@L")), **{"@L": "2e0"})),
    ("end 3.0", raw(with_patch({"op": "delete", "line": 1, "end": "@E"}), **{"@E": "3.0"})),
    ("base_revision 0.0", raw(base(base_revision="@R"), **{"@R": "0.0"})),
    ("base_revision 1E2", raw(base(base_revision="@R"), **{"@R": "1E2"})),
]

# What a JSON Schema validator never sees, because its JSON parser has already normalized it:
# duplicate keys (last one wins) and unpaired surrogate escapes (kept as lone code points). The
# decoder rejects all of them; the schema, by construction, accepts the parsed value.
SCHEMA_BLIND_SPOTS = [
    ("duplicate batch_id", raw(base()).replace('"batch_id":"b-1"', '"batch_id":"b-1","batch_id":"b-2"')),
    ("duplicate patches", raw(base()).replace('"patches":', '"patches":[],"patches":')),
    ("duplicate op", raw(base()).replace('"op":"replace"', '"op":"delete","op":"replace"')),
    ("unpaired surrogate in snapshot", raw(base(snapshot=["@S"])).replace("@S", "\\ud800")),
    ("unpaired surrogate in lines", raw(with_patch(patch(lines=["@S"]))).replace("@S", "x\\udc00")),
    ("unpaired surrogate in user_id", raw(base(user_id="@S")).replace("@S", "u\\ud83d")),
]


def cases():
    """[(name, event bytes, valid)] for the agreement test."""
    out = []
    for group, valid in ((VALID, True), (INVALID, False)):
        for name, event in group:
            out.append((name, encode(event), valid))
    return out


def encode(event):
    if isinstance(event, bytes):
        return event
    if isinstance(event, str):
        return event.encode("utf-8")
    return json.dumps(copy.deepcopy(event), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
