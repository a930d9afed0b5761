"""Filling in the colours of what no photo shows (core/recon/fill.py)."""

from __future__ import annotations

import torch

from core.recon.fill import fill_on_mesh, fill_unseen, smooth_filled


def test_fill_unseen_prefers_the_mirror_then_the_nearest():
    points = torch.tensor(
        [
            [0.30, 0.00, 0.0],  # 0 seen, red: the left arm
            [0.00, 0.20, 0.0],  # 1 seen, green: the back's middle
            [-0.30, 0.005, 0.0],  # 2 unseen: mirror of 0 within 2 cm -> red (1 is nearer)
            [0.02, 0.40, 0.0],  # 3 unseen: mirror near nothing seen -> nearest, green
            [-0.60, 0.00, 0.0],  # 4 unseen: mirror is 5, unseen -> nearest seen, green
            [0.60, 0.00, 0.0],  # 5 unseen: mirror is 4, unseen -> nearest seen, red
        ]
    )
    red, green, none = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 0.0)
    colour = torch.tensor([red, green, none, none, none, none])
    seen = torch.tensor([True, True, False, False, False, False])
    out, by_nearest = fill_unseen(points, colour, seen)
    assert out.tolist() == [list(c) for c in (red, green, red, green, green, red)]
    assert by_nearest.tolist() == [False, False, False, True, True, True]
    # The mirror plane can sit off zero.
    shifted = points + torch.tensor([1.0, 0.0, 0.0])
    assert torch.equal(fill_unseen(shifted, colour, seen, mirror_centre=1.0)[0], out)
    # Nothing seen: unchanged.
    nothing = torch.zeros(6, dtype=torch.bool)
    assert torch.equal(fill_unseen(points, colour, nothing)[0], colour)


def test_smoothing_blends_only_the_loose_colours():
    # A row of points: black and white ends held, the middle relaxes between them.
    points = torch.stack((torch.arange(11.0), torch.zeros(11), torch.zeros(11)), dim=-1)
    colour = torch.zeros(11, 3)
    colour[10] = 1.0
    loose = torch.ones(11, dtype=torch.bool)
    loose[[0, 10]] = False
    out = smooth_filled(points, colour, loose)
    assert out[0].tolist() == [0, 0, 0] and out[10].tolist() == [1, 1, 1]
    assert 0 < out[5, 0] < 1 and out[1, 0] < out[5, 0] < out[9, 0]


def test_fill_on_mesh_gives_unseen_gaussians_their_triangles_colours():
    # A strip of two triangles along X; Gaussians on the left one are seen (red), those on
    # the right one are not and take colours mixed from the vertices.
    vertices = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [2, 0, 0]])
    faces = torch.tensor([[0, 1, 2], [1, 4, 3]])
    triangle = torch.tensor([0, 0, 0, 1, 1])
    barycentric = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [0.2, 0.4, 0.4]])
    red = torch.tensor([1.0, 0.0, 0.0])
    colour = torch.stack([red, red, red, torch.zeros(3), torch.zeros(3)])
    seen = torch.tensor([True, True, True, False, False])
    out = fill_on_mesh(vertices, faces, triangle, barycentric, colour, seen)
    assert torch.equal(out[:3], colour[:3])  # seen ones keep their colours
    assert torch.allclose(out[3], red)  # on vertex 1, which a seen Gaussian sits on
    assert torch.allclose(out[4], red)  # vertices 3 and 4 filled from the nearest seen


def test_unseen_scalp_takes_the_top_of_the_head_not_the_nearest_skin():
    # A head seen from the front (-y): dark hair on top, skin on the face and the ears; the
    # back of the head (+y) is unseen. Plain nearness would give it the ears' skin.
    hair, skin, none = (0.125, 0.0625, 0.0), (0.875, 0.75, 0.5), (0.0, 0.0, 0.0)
    points = torch.tensor(
        [
            [0.00, -0.02, 0.20],  # 0 seen hair: the crown's front
            [0.00, -0.10, 0.10],  # 1 seen skin: the face
            [0.08, 0.00, 0.08],  # 2 seen skin: the left ear
            [0.00, 0.09, 0.10],  # 3 unseen: the back of the head at ear height
            [0.06, 0.06, 0.12],  # 4 unseen: behind the left ear, nearest to the ear
            [0.00, 0.20, -0.10],  # 5 unseen, not head: the upper back -> nearest
        ]
    )
    colour = torch.tensor([hair, skin, skin, none, none, none])
    seen = torch.tensor([True, True, True, False, False, False])
    head = torch.tensor([True, True, True, True, True, False])
    out, _ = fill_unseen(points, colour, seen, head=head)
    assert out[3].tolist() == list(hair) and out[4].tolist() == list(hair)
    assert out[5].tolist() == list(skin)  # the nearest seen point (the ear)
    # Without the head labels, the back of the head takes the ear's skin.
    plain, _ = fill_unseen(points, colour, seen)
    assert plain[4].tolist() == list(skin)
    # A bald head (skin on top) stays skin behind.
    bald = colour.clone()
    bald[0] = torch.tensor(skin)
    assert fill_unseen(points, bald, seen, head=head)[0][3].tolist() == list(skin)


def test_the_filled_scalp_is_relaxed_without_the_faces_skin():
    """Relaxed together with their seen neighbours, the scalp's filled points took in the
    skin of the temples (the profile's hair mixed with the face); among themselves, hair
    taken from the top stays hair beside the skin."""
    hair, skin = torch.tensor([0.1, 0.05, 0.0]), torch.tensor([0.9, 0.75, 0.5])
    # a ring of head points: the crown (seen hair), the face (seen skin), the side (unseen)
    # (off the middle plane, so that no point's mirror image is near another)
    angles = torch.linspace(0, 3.0, 40)
    points = torch.stack(
        [torch.full((40,), 0.05), 0.1 * torch.cos(angles), 0.1 + 0.1 * torch.sin(angles)], 1
    )
    points[:10, 2] = 0.25  # the crown, the top of what is seen
    seen = torch.zeros(40, dtype=torch.bool)
    seen[:10] = True
    seen[30:] = True
    colour = torch.zeros(40, 3)
    colour[:10] = hair
    colour[30:] = skin
    head = torch.ones(40, dtype=torch.bool)
    out, by_nearest = fill_unseen(points, colour, seen, head=head)
    assert not bool(by_nearest.any())  # nothing left for smooth_filled to mix with the skin
    assert torch.allclose(out[10:30], hair.expand(20, 3))
    relaxed = smooth_filled(points, out, by_nearest)
    assert torch.allclose(relaxed[10:30], hair.expand(20, 3))
