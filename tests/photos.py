"""The shared test photos (../shared/photos beside the repository, listed in its SOURCES.md):
where they are, and skipping a test that needs one when it is absent."""

from pathlib import Path

import pytest

PHOTOS = (Path(__file__).resolve().parents[1] / ".." / "shared" / "photos").resolve()


def photo_names(prefix: str = "") -> list[str]:
    """Sorted names of the shared photos starting with ``prefix``; none when the folder is
    absent."""
    if not PHOTOS.is_dir():
        return []
    return sorted(p.name for p in PHOTOS.iterdir() if p.name.startswith(prefix))


def shared_photo(name: str) -> Path:
    """The path of the shared photo ``name``; skips the calling test when it is absent."""
    path = PHOTOS / name
    if not path.is_file():
        pytest.skip(f"shared test photo not found at {path}")
    return path
