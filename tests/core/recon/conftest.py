"""Fixtures of the recon tests: the synthetic person of subject.py, photographed from the
front (true shape, pose and camera)."""

import pytest

from tests.core.recon.subject import dressed_avatar, subject_fit


@pytest.fixture(scope="module")
def subject(anny_body):
    return dressed_avatar(anny_body, count=20_000)


@pytest.fixture(scope="module")
def front_fit(anny_body, subject):
    return subject_fit(anny_body, subject, (0.0,))
