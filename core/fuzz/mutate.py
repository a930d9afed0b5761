"""Seeded mutations of inputs: raw bytes and parsed JSON.

Every function takes a ``random.Random`` so one seed gives one sequence of cases.
"""

from __future__ import annotations

import json
import random

_INTERESTING_NUMBERS = (
    0,
    -1,
    1,
    2**31,
    2**63,
    10**400,
    -(10**30),
    1e30,
    -3e38,
    1e308,
    float("nan"),
    float("inf"),
    float("-inf"),
    0.5,
    -0.0,
)
_INTERESTING_STRINGS = ("", "\ud800", "\udfff", "x" * 10_000, "\x00", "é" * 300, "../..", "NaN")


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """One to a few byte-level edits: flips, truncation, extension, duplication, zeroing."""
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        kind = rng.randrange(6)
        if kind == 0 and out:  # flip bits of one byte
            at = rng.randrange(len(out))
            out[at] ^= 1 << rng.randrange(8)
        elif kind == 1 and out:  # set a byte to an interesting value
            out[rng.randrange(len(out))] = rng.choice((0, 0xFF, 0x7F, 0x80, ord("{"), ord('"')))
        elif kind == 2:  # truncate
            del out[rng.randrange(len(out) + 1) :]
        elif kind == 3:  # extend with random or zero bytes
            extra = rng.choice((1, 7, 64, 4096))
            out += (
                bytes(rng.randrange(256) for _ in range(extra))
                if rng.random() < 0.5
                else bytes(extra)
            )
        elif kind == 4 and out:  # duplicate a slice
            a = rng.randrange(len(out))
            b = min(len(out), a + rng.randrange(1, 256))
            out[a:a] = out[a:b]
        elif out:  # overwrite a span with zeros
            a = rng.randrange(len(out))
            out[a : a + rng.randrange(1, 64)] = bytes(min(len(out) - a, 64))
    return bytes(out)


def _paths(value: object) -> list[tuple]:
    """Every path (tuple of keys/indices) into parsed JSON ``value``, the root included,
    down to depth 32 (deeper nodes of a deeply nested mutation are not edited again)."""
    found, stack = [], [((), value)]
    while stack:
        prefix, item = stack.pop()
        found.append(prefix)
        if len(prefix) >= 32:
            continue
        if isinstance(item, dict):
            stack += [((*prefix, key), child) for key, child in item.items()]
        elif isinstance(item, list):
            stack += [((*prefix, index), child) for index, child in enumerate(item)]
    return found


def _replacement(old: object, rng: random.Random) -> object:
    """A new value for a JSON node: an odd number, an odd string, another type, deep nesting."""
    kind = rng.randrange(6)
    if kind == 0:
        return rng.choice(_INTERESTING_NUMBERS)
    if kind == 1:
        return rng.choice(_INTERESTING_STRINGS)
    if kind == 2:  # type swapped
        return rng.choice((None, True, [], {}, [old], {"x": old}, type(old).__name__))
    if kind == 3:  # deep nesting
        deep: object = old
        for _ in range(rng.choice((50, 500, 1001))):  # over 1000: see dumps()
            deep = [deep]
        return deep
    if kind == 4 and isinstance(old, int | float) and not isinstance(old, bool):
        huge = old * 10**30 if isinstance(old, int) else old * 1e30  # an int may not fit a float
        return rng.choice((-old, huge, old + 1, old - 1))
    if isinstance(old, list):
        return old * rng.choice((0, 2, 100)) if len(old) <= 10 else old[:1]
    return rng.choice(_INTERESTING_NUMBERS + _INTERESTING_STRINGS)


def mutate_json(value: object, rng: random.Random) -> object:
    """A copy of parsed JSON ``value`` with one to three nodes replaced or keys added/removed."""
    value = json.loads(json.dumps(value))
    for _ in range(rng.choice((1, 1, 2, 3))):
        path = rng.choice(_paths(value))
        if not path:
            value = _replacement(value, rng)
            continue
        parent = value
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        if isinstance(parent, dict) and rng.random() < 0.2:
            del parent[key]
        elif isinstance(parent, dict) and rng.random() < 0.1:
            parent[rng.choice(_INTERESTING_STRINGS[:4] + ("extra",))] = parent[key]
        else:
            parent[key] = _replacement(parent[key], rng)
    return value


def dumps(value: object, indent: int | None = None) -> str:
    """``value`` as JSON text, with NaN/Infinity written as JSON-ish tokens and lone
    surrogates escaped (what a hostile file may hold); nesting too deep for ``json.dumps``
    becomes 100,000 opening brackets."""
    if _deeper_than(value, 900):
        return "[" * 100_000
    if indent is not None and _deeper_than(value, 16):
        indent = None  # pure-Python encoder, whose cost grows with the square of the depth
    try:
        return json.dumps(value, indent=indent)
    except RecursionError:  # a shared node deeper than _deeper_than saw it
        return "[" * 100_000


def _deeper_than(value: object, depth: int) -> bool:
    """Whether parsed JSON ``value`` nests more than ``depth`` levels (without recursion)."""
    stack, seen = [(value, 0)], set()
    while stack:
        item, level = stack.pop()
        if level > depth:
            return True
        if id(item) in seen:  # mutations share nodes: each is walked once
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            stack += [(child, level + 1) for child in item.values()]
        elif isinstance(item, list):
            stack += [(child, level + 1) for child in item]
    return False


def json_text(value: object, rng: random.Random) -> bytes:
    """``value`` as JSON bytes (see :func:`dumps`), sometimes pretty-printed."""
    return dumps(value, indent=rng.choice((None, 1))).encode("utf-8")
