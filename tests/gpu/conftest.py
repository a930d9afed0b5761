"""tests/gpu: what needs CUDA (gsplat against the torch reference, deformation on the GPU).

Every module here is skipped, with its reason, where CUDA is absent (CI, the 2-core machines);
nothing in this folder imports gsplat or touches CUDA at collection. Where CUDA is present
but gsplat is not installed (or its kernels cannot be built), the gsplat tests are skipped and
say how to install it. How to run them on a GPU machine: docs/gpu.md.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session")
def device() -> torch.device:
    """The CUDA device the tests run on."""
    return torch.device("cuda")


@pytest.fixture(scope="session")
def gsplat_rasterization():
    """``gsplat.rasterization`` with its kernels built; the first use compiles them (minutes)."""
    from core.render.gsplat_backend import GsplatUnavailableError, load_rasterization

    try:
        return load_rasterization()
    except GsplatUnavailableError as err:
        pytest.skip(str(err))
