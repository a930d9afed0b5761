"""Anny's landmark tables, read from core/body/anny_landmarks.json."""

from __future__ import annotations

import json
import math

from core.body.anny_landmarks import TABLES_FILE, anny_landmark_tables

GROUPS = {"lips": 40, "eyes": 32, "brows": 20, "nose": 24, "oval": 20, "cheeks": 12}


def test_counts_and_ranges():
    tables = anny_landmark_tables()
    assert tables.vertices == 13718
    assert len(tables.face_points) == sum(GROUPS.values()) == 148
    groups = [group for _, group, _, _ in tables.face_points]
    assert {g: groups.count(g) for g in GROUPS} == GROUPS
    points = [point for point, *_ in tables.face_points]
    assert len(set(points)) == len(points)
    assert all(0 <= p < 478 for p in points)  # FaceMesh has 478 points
    for _, _, verts, weights in tables.face_points:
        assert len(verts) == len(weights) == 3
        assert all(0 <= v < tables.vertices for v in verts)
        assert all(0.0 <= w <= 1.0 for w in weights) and math.isclose(
            sum(weights), 1.0, abs_tol=2e-3
        )
    names = {"nose"} | {f"{s}_{p}" for s in ("left", "right") for p in
                        ("eye", "ear", "shoulder", "hip", "ankle", "heel", "big_toe")}  # fmt: skip
    assert set(tables.coco_points) == names
    for rows in tables.coco_points.values():
        assert 8 <= len(rows) <= 48
        assert all(0 <= v < tables.vertices and 0.0 < w < 1.0 for v, w in rows)
    assert set(tables.fingertips) == {f"finger{k}.{s}" for k in range(1, 6) for s in "LR"}
    assert all(0 <= v < tables.vertices for v in tables.fingertips.values())


def test_numbers_read_back_exactly_and_once():
    tables = anny_landmark_tables()
    assert anny_landmark_tables() is tables
    raw = json.loads(TABLES_FILE.read_text(encoding="utf-8"))
    # Every weight is written as its shortest round-trip decimal: repr gives the same text.
    text = TABLES_FILE.read_text(encoding="utf-8")
    for _, _, _, weights in tables.face_points:
        assert all(repr(w) in text for w in weights)
    first = raw["coco_points"]["nose"][0]
    assert tables.coco_points["nose"][0] == (first[0], first[1])
    assert isinstance(tables.coco_points["nose"][0][1], float)
