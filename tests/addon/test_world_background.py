"""lca_addon/render_engine.py's ``world_background``: the colour behind the splats with an
opaque film, read as Blender would render it, on every Blender the extension supports (a
world's nodes are always on from 5.0; in 4.x ``World.use_nodes`` switches them, and a new
world has none)."""

import pytest

from tests.addon.util import BPY_MISSING, world_with_nodes

bpy = pytest.importorskip("bpy", reason=BPY_MISSING)

NODES_SWITCH = bpy.app.version < (5, 0, 0)
"""Blender 4.x: ``World.use_nodes`` chooses between the node tree and ``World.color``."""


@pytest.fixture
def world_background(addon):
    return addon.module("lca_addon.render_engine").world_background


def test_the_background_node_is_the_colour(world_background):
    scene = bpy.context.scene
    scene.render.film_transparent = False
    scene.world = world_with_nodes("nodes")
    assert world_background(scene) == pytest.approx((0.2, 0.1, 0.05))
    scene.render.film_transparent = True
    assert world_background(scene) is None


def test_no_world_is_black(world_background):
    scene = bpy.context.scene
    scene.render.film_transparent = False
    scene.world = None
    assert world_background(scene) == (0.0, 0.0, 0.0)


@pytest.mark.skipif(not NODES_SWITCH, reason="from Blender 5.0 a world's nodes are always on")
def test_a_world_with_its_nodes_off_is_its_colour(world_background):
    scene = bpy.context.scene
    scene.render.film_transparent = False
    scene.world = world_with_nodes("nodes off")
    scene.world.use_nodes = False  # the tree stays, and Blender renders World.color
    assert world_background(scene) == pytest.approx((0.3, 0.6, 0.9))
    scene.world = bpy.data.worlds.new("new")  # a new 4.x world: no tree, its colour
    assert scene.world.node_tree is None
    assert world_background(scene) == pytest.approx(tuple(scene.world.color))
