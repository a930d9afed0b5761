"""The photos as fitting sees them (core/recon/views.py), on the synthetic person of
tests/core/recon/subject.py (true shape, pose and camera)."""

from __future__ import annotations

import pytest
import torch

from core.recon.views import (
    crop_views,
    posed_vertices,
    prepare_views,
    sample_image,
    view_psnr,
    visibility,
)
from tests.core.recon.subject import subject_fit


@pytest.fixture(scope="module")
def two_fit(anny_body, subject):
    return subject_fit(anny_body, subject, (0.0, 180.0))


def test_crop_camera_matches_the_photo_camera(anny_body, front_fit):
    view = prepare_views(anny_body, front_fit, 128)[0]
    photo_camera = front_fit.views[0].camera
    x0, y0, x1, y1 = view.box
    assert max(view.camera.width, view.camera.height) == 128
    # The crop holds the whole person mask.
    outside = front_fit.views[0].perception.mask.copy()
    outside[y0:y1, x0:x1] = 0.0
    assert outside.max() < 0.5
    # A body point lands on the same spot of the person in both.
    point = view.vertices[:50]

    def project(camera):
        local = point @ camera.world_to_camera[:3, :3].T + camera.world_to_camera[:3, 3]
        pixels = local @ camera.K.T
        return pixels[:, :2] / pixels[:, 2:]

    sx = view.camera.width / (x1 - x0)
    sy = view.camera.height / (y1 - y0)
    expected = (project(photo_camera) - torch.tensor([x0, y0])) * torch.tensor([sx, sy])
    assert torch.allclose(project(view.camera), expected, atol=1e-3)


def test_crops_of_one_posing_equal_separate_preparations(anny_body, two_fit):
    vertices = posed_vertices(anny_body, two_fit)
    assert vertices.shape == (2, anny_body.skinning_weights.shape[0], 3)
    for size in (64, 96):
        shared = crop_views(two_fit, vertices, size)
        alone = prepare_views(anny_body, two_fit, size)
        for a, b in zip(shared, alone, strict=True):
            assert a.box == b.box
            for name in ("rgb", "mask", "inner", "vertices"):
                assert torch.equal(getattr(a, name), getattr(b, name)), name
            assert torch.equal(a.camera.K, b.camera.K)


def test_sample_image_reads_pixel_centres():
    image = torch.arange(12.0).reshape(3, 4, 1)
    pixels = torch.tensor([[0.5, 0.5], [3.5, 2.5], [1.0, 0.5]])
    expected = torch.tensor([0.0, 11.0, 0.5])
    assert torch.allclose(sample_image(image, pixels)[:, 0], expected, atol=1e-5)


def test_the_subject_is_seen_from_the_front_and_explains_its_photo(anny_body, subject, front_fit):
    view = prepare_views(anny_body, front_fit, 96)[0]
    vis = visibility(subject.binding, subject.faces, view)
    seen = vis.unoccluded & (vis.facing > 0.2) & vis.in_mask
    assert vis.pixels.shape == (subject.count, 2)
    assert 0.05 < float(seen.float().mean()) < 0.5  # part of the front half only
    assert view_psnr(subject, view) > 20.0
