"""The shipped rollout plans (docs/rollout-plans/) are valid against schemas/rollout-plan.schema.json,
and the schema refuses what the processor's parser refuses."""
import json
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas" / "rollout-plan.schema.json").read_text())
PLANS = sorted((ROOT / "docs" / "rollout-plans").glob("*.json"))


@pytest.mark.parametrize("path", PLANS, ids=[p.name for p in PLANS])
def test_shipped_plans_are_valid(path):
    plan = json.loads(path.read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(plan)
    percentages = [w["percentage"] for w in plan["waves"]]
    assert percentages == sorted(set(percentages)) and percentages[-1] == 100
    assert percentages == [10, 25, 50, 100], "the seed's four waves"


def test_seed_plan_holds_are_hours():
    seed = json.loads((ROOT / "docs" / "rollout-plans" / "seed.json").read_text())
    assert [w["hold_ms"] // 3_600_000 for w in seed["waves"]] == [24, 48, 48, 48]


@pytest.mark.parametrize("bad", [
    {"flag": "f", "waves": []},
    {"flag": "f", "waves": [{"percentage": 0, "hold_ms": 0, "min_samples": 1}]},
    {"flag": "f", "waves": [{"percentage": 10, "hold_ms": 0}]},
    {"flag": "f", "waves": [{"percentage": 10, "hold_ms": 0, "min_samples": 1}],
     "gates": [{"metric": "vibes", "threshold": 1}]},
    {"flag": "f", "waves": [{"percentage": 10, "hold_ms": 0, "min_samples": 1, "extra": 1}]},
])
def test_schema_refuses_broken_plans(bad):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCHEMA).validate(bad)
