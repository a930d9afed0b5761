"""The checks of ``core.render.types``: a Camera is valid once built, whoever builds it."""

import pytest
import torch

from core.render.camera import intrinsics, look_at
from core.render.types import MAX_IMAGE_SIDE, Camera


def _camera(**changes):
    fields = {
        "K": intrinsics(64, 48, fov_y_deg=40.0),
        "world_to_camera": look_at(
            torch.tensor([0.0, -3.0, 1.0], dtype=torch.float64),
            torch.zeros(3, dtype=torch.float64),
            torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64),
        ),
        "width": 64,
        "height": 48,
    }
    return Camera(**{**fields, **changes})


def test_a_look_at_camera_is_valid():
    camera = _camera()
    assert camera.width == 64


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"K": torch.zeros(3, 3)}, "positive focal lengths"),
        ({"K": torch.diag(torch.tensor([100.0, 0.0, 1.0]))}, "positive focal lengths"),
        ({"world_to_camera": torch.zeros(4, 4)}, "rigid"),
        ({"world_to_camera": torch.diag(torch.tensor([1.0, 1.0, 3.0, 1.0]))}, "rigid"),
        ({"world_to_camera": torch.diag(torch.tensor([1.0, 1.0, -1.0, 1.0]))}, "rigid"),
        ({"width": MAX_IMAGE_SIDE + 1}, "1 to 16384"),
        ({"height": 0}, "1 to 16384"),
        ({"width": 64.0}, "whole pixels"),
        ({"K": torch.full((3, 3), float("nan"))}, "NaN"),
    ],
)
def test_bad_cameras_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        _camera(**changes)


def test_numpy_sizes_are_whole_pixels():
    np = pytest.importorskip("numpy")
    assert _camera(width=np.int64(64)).width == 64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_camera_on_the_gpu_is_checked_there():
    camera = _camera()
    on_gpu = Camera(camera.K.cuda(), camera.world_to_camera.cuda(), 64, 48)
    assert on_gpu.K.is_cuda
    with pytest.raises(ValueError, match="rigid"):
        Camera(camera.K.cuda(), torch.zeros(4, 4, device="cuda"), 64, 48)
