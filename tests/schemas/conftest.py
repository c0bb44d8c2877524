# Shared fixtures for the schema tests: the schemas as a registry, validators, the patchstream binary.
import datetime
import importlib
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
EXAMPLES = SCHEMAS / "examples"
REQUIREMENTS = REPO / "tests" / "requirements.txt"


def _ensure_packages():
    # scripts/setup.sh installs them; this covers running pytest on a machine that skipped it.
    try:
        importlib.import_module("jsonschema")
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-r", str(REQUIREMENTS)], check=True)
        importlib.invalidate_caches()


_ensure_packages()

import jsonschema  # noqa: E402
from referencing import Registry, Resource  # noqa: E402

# RFC 3339 date-time, checked here rather than through an optional package, so that a missing
# package cannot silently turn the format check off.
_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$")
FORMAT_CHECKER = jsonschema.FormatChecker()


@FORMAT_CHECKER.checks("date-time")
def _is_date_time(value):
    if not isinstance(value, str):
        return True
    m = _DATE_TIME.match(value)
    if not m:
        return False
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    offset_ok = m.group(9) is None or (int(m.group(9)) < 24 and int(m.group(10)) < 60)
    return hour < 24 and minute < 60 and second <= 60 and offset_ok


SCHEMA_FILES = sorted(SCHEMAS.glob("*.schema.json"))


def pytest_addoption(parser):
    parser.addoption("--patchstream-bin", default=None,
                     help="path of the built patchstream executable (default: $PATCHSTREAM_BIN)")


def load_json(path):
    return json.loads(pathlib.Path(path).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def schemas():
    """File stem (e.g. "patch-batch") -> schema document."""
    return {p.name.removesuffix(".schema.json"): load_json(p) for p in SCHEMA_FILES}


@pytest.fixture(scope="session")
def validator_for(schemas):
    """validator_for("patch-batch", "/$defs/stateless") -> a format-checking 2020-12 validator."""
    registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas.values())
    cache = {}

    def make(name, pointer=""):
        key = (name, pointer)
        if key not in cache:
            schema = {"$ref": schemas[name]["$id"] + "#" + pointer} if pointer else schemas[name]
            cache[key] = jsonschema.Draft202012Validator(
                schema, registry=registry,
                format_checker=FORMAT_CHECKER)
        return cache[key]

    return make


@pytest.fixture(scope="session")
def patchstream_bin(request):
    path = request.config.getoption("--patchstream-bin") or os.environ.get("PATCHSTREAM_BIN")
    if not path:
        pytest.skip("set PATCHSTREAM_BIN or --patchstream-bin to the built patchstream binary")
    if not os.access(path, os.X_OK):
        pytest.fail(f"patchstream binary not executable: {path}")
    return path


class ApplyRun:
    """One `patchstream apply` run: parsed results, dead letters and the raw lines."""

    def __init__(self, results, dead_letters, result_lines, dead_letter_lines):
        self.results = results
        self.dead_letters = dead_letters
        self.result_lines = result_lines
        self.dead_letter_lines = dead_letter_lines

    def outcomes(self, input_count):
        """Per input line (1-based order): ("result", obj) or ("dead", obj)."""
        dead = {d["line"]: d for d in self.dead_letters}
        results = iter(self.results)
        out = []
        for n in range(1, input_count + 1):
            out.append(("dead", dead[n]) if n in dead else ("result", next(results)))
        assert next(results, None) is None, "more results than decodable input lines"
        return out


@pytest.fixture(scope="session")
def run_apply(patchstream_bin, tmp_path_factory):
    def run(input_text, *args):
        tmp = tmp_path_factory.mktemp("apply")
        events = tmp / "events.ndjson"
        events.write_bytes(input_text.encode("utf-8") if isinstance(input_text, str) else input_text)
        dead_path = tmp / "dead.ndjson"
        proc = subprocess.run([patchstream_bin, "apply", str(events), "--dead-letter", str(dead_path), *args],
                              capture_output=True, timeout=120)
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")
        result_lines = proc.stdout.decode("utf-8").splitlines()
        dead_lines = dead_path.read_text(encoding="utf-8").splitlines()
        return ApplyRun([json.loads(l) for l in result_lines], [json.loads(l) for l in dead_lines],
                        result_lines, dead_lines)

    return run
