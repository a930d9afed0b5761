"""sRGB transfer functions: known values, round trips, gradients."""

from __future__ import annotations

import pytest
import torch

from core.render.color import linear_to_srgb, srgb_to_linear


@pytest.mark.parametrize(
    ("encoded", "linear"),
    [
        (0.0, 0.0),
        (1.0, 1.0),
        (0.5, 0.21404114048223255),
        (0.04045, 0.0031308049535603713),
        (0.02, 0.02 / 12.92),
        (0.8, 0.6038273388553378),
    ],
)
def test_known_values(encoded, linear):
    e = torch.tensor(encoded, dtype=torch.float64)
    assert float(srgb_to_linear(e)) == pytest.approx(linear, abs=1e-12)
    # The standard's two knees (0.04045, 0.0031308) disagree by ~5e-8, hence the tolerance.
    assert float(linear_to_srgb(torch.tensor(linear, dtype=torch.float64))) == pytest.approx(
        encoded, abs=1e-7
    )


def test_round_trip_and_monotonic():
    x = torch.linspace(-0.1, 2.0, 2001, dtype=torch.float64)
    torch.testing.assert_close(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-7, rtol=0)
    torch.testing.assert_close(srgb_to_linear(linear_to_srgb(x)), x, atol=1e-7, rtol=0)
    away = (x - 0.04045).abs() > 1e-3
    torch.testing.assert_close(linear_to_srgb(srgb_to_linear(x))[away], x[away], atol=1e-12, rtol=0)
    assert (srgb_to_linear(x).diff() > 0).all() and (linear_to_srgb(x).diff() > 0).all()


def test_float32_and_shapes_are_kept():
    x = torch.rand(4, 5, 3)
    assert srgb_to_linear(x).shape == x.shape and srgb_to_linear(x).dtype == torch.float32
    torch.testing.assert_close(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-6, rtol=0)


def test_gradients_are_finite_everywhere():
    x = torch.tensor([-0.5, 0.0, 0.0031308, 0.04045, 0.5, 1.5], dtype=torch.float64)
    for fn in (srgb_to_linear, linear_to_srgb):
        xg = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(fn(xg).sum(), xg)
        assert torch.isfinite(grad).all() and (grad > 0).all()
