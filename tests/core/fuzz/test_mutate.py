"""Seeded mutations: deterministic, varied, and never too deep for the harness itself."""

from __future__ import annotations

import json
import random

from core.fuzz.mutate import dumps, json_text, mutate_bytes, mutate_json

SEED = {"a": [1, 2.5, "x"], "b": {"c": None, "d": True}}


def test_byte_mutations_are_seeded_and_varied():
    data = bytes(range(256)) * 4
    first = [mutate_bytes(data, random.Random(i)) for i in range(50)]
    assert first == [mutate_bytes(data, random.Random(i)) for i in range(50)]
    assert len(set(first)) > 40 and data not in first[:5]
    assert {len(m) < len(data) for m in first} == {True, False}  # truncations and extensions


def test_json_mutations_reach_odd_values_without_breaking_the_harness():
    texts = [json_text(mutate_json(SEED, random.Random(i)), random.Random(i)) for i in range(400)]
    joined = b"\n".join(texts)
    for token in (b"NaN", b"Infinity", b"\\ud800", b"[" * 1000, b"null"):
        assert token in joined, token
    assert SEED == {"a": [1, 2.5, "x"], "b": {"c": None, "d": True}}  # the seed is not edited


def test_dumps_of_deep_nesting_is_bracket_text():
    deep: object = 1
    for _ in range(5000):
        deep = [deep]
    assert dumps(deep) == "[" * 100_000
    assert json.loads(dumps(SEED)) == SEED
