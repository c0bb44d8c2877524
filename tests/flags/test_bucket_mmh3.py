"""Cross-checks flags/bucket.cpp against Python's mmh3 on thousands of random keys (UTF-8 included).

Run by CTest as `flags_bucket_mmh3` with BUCKET_TOOL set to the built bucket_tool."""
import os
import random
import subprocess

import mmh3  # installed by scripts/setup.sh (tests/requirements.txt)


def random_text(rng, max_length):
    alphabet = "abcXYZ019-_.:/ éüßユーザー😀"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, max_length)))


def test_buckets_match_mmh3():
    rng = random.Random(20261123)
    keys = [(random_text(rng, 24), random_text(rng, 40)) for _ in range(5000)]
    keys += [("batch-patches-v1", f"user-{i}") for i in range(1000)]
    stdin = "".join(f"{g}\t{u}\n" for g, u in keys)
    tool = os.environ["BUCKET_TOOL"]
    out = subprocess.run([tool], input=stdin.encode(), capture_output=True, check=True).stdout
    lines = out.decode().splitlines()
    assert len(lines) == len(keys)
    for (group, user), line in zip(keys, lines):
        expected = mmh3.hash(f"{group}:{user}".encode(), 0, signed=False)
        assert line == f"{expected} {expected % 100 + 1}", (group, user)
