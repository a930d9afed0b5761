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
