"""What ``lca create`` and ``blender -c lca create`` (``lca blender create``) share: their
options, the output check, torch's thread count for the job, and the preview image.

Both parsers declare the create options with :func:`add_create_options` and read them back
as one ``core.create_settings.CreateSettings`` (``CreateSettings.from_args``); both commands
write NAME.preview.png (:func:`preview_path`: the avatar from the front, :func:`render_preview`,
saved with ``core.images.save_image``) next to NAME.lca.
Importing this module imports neither torch nor the renderer, so Blender can build its
parser, and print ``--help``, before torch is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..create_settings import DEVICES, METHODS, QUALITIES, check_threads
from ..errors import PATH_LIMIT, LcaError, quoted
from .options import add_threads_option

if TYPE_CHECKING:
    from PIL import Image

    from ..avatar.avatar import Avatar

PREVIEW_SIZE = (512, 768)
"""Width and height of NAME.preview.png, in pixels."""

PREVIEW_BACKGROUND = (1.0, 1.0, 1.0)
"""The preview's background colour (sRGB, white); its alpha channel keeps the splats'."""


def add_create_options(parser: argparse.ArgumentParser) -> None:
    """Add the create command's photos and options (the same in both commands) to ``parser``:
    PHOTO..., -o/--output, --quality, --device, --seed, --person, --allow-partial,
    --allow-mixed, --method, --checkpoint and --threads (the fields of ``CreateSettings``)."""
    parser.add_argument("photos", nargs="+", metavar="PHOTO", help="photos of the person")
    parser.add_argument("-o", "--output", required=True, help="the .lca file to write")
    add_settings_options(parser)


def add_settings_options(
    parser: argparse.ArgumentParser, quality: str = "standard", mixed: bool = True
) -> None:
    """Add the options read back as ``CreateSettings``: --quality (default ``quality``),
    --device, --seed, --person, --allow-partial, --allow-mixed (unless not ``mixed``),
    --method, --checkpoint and --threads. ``lca eval`` shares them (draft, no mixing)."""
    times = {"draft": "about a minute on a CPU", "standard": "a few minutes", "high": "slow"}
    parser.add_argument(
        "--quality",
        choices=QUALITIES,
        default=quality,
        help=", ".join(f"{q} ({'default, ' if q == quality else ''}{times[q]})" for q in QUALITIES),
    )
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--person", type=int, help="which person in photos of several, 0 = leftmost"
    )
    parser.add_argument(
        "--allow-partial",
        action="store_true",
        help="accept a person whose head or feet are cut off",
    )
    if mixed:
        parser.add_argument(
            "--allow-mixed",
            action="store_true",
            help="use photos that seem to show different people (or clothes) anyway",
        )
    parser.add_argument(
        "--method",
        choices=METHODS,
        default="fit",
        help="fit (default: fit the Gaussians to the photos), feedforward (the LCA network's "
        "prediction in one pass) or auto (the prediction, then a third of the refinement)",
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        help="feedforward/auto: a trained network (default: the shipped model)",
    )
    add_threads_option(parser)


def named(avatar: Avatar, name: str) -> Avatar:
    """``avatar`` with its metadata name set to ``name`` (the output file's stem)."""
    return dataclasses.replace(avatar, metadata={**avatar.metadata, "name": name})


def check_output(output: Path, preview: bool = True) -> None:
    """Refuse, before the long work, an output that is not a .lca file name, is a folder, or
    that it or (with ``preview``) its NAME.preview.png could not be written (a name too long
    for the file system, a folder that cannot be made or written): LcaError, one sentence."""
    from ..fileio import check_output_file

    shown = quoted(output, PATH_LIMIT)
    if output.suffix.lower() != ".lca":
        raise LcaError(f"The output {shown} must be a .lca file, such as me.lca.")
    try:
        is_dir = output.is_dir()
    except OSError:
        is_dir = False  # check_output_file says why
    if is_dir:
        raise LcaError(f"The output {shown} is a folder; give a file name such as me.lca.")
    check_output_file(output)
    if preview:
        check_output_file(preview_path(output))


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """torch's CPU thread count set to ``threads`` while the block runs, then set back (None:
    left as it is). Inside Blender this keeps the choice to the one job."""
    check_threads(threads)
    if threads is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def preview_path(output: Path) -> Path:
    """NAME.preview.png beside NAME.lca."""
    return output.with_name(f"{output.stem}.preview.png")


def render_preview(avatar: Avatar) -> Image.Image:
    """The avatar in its canonical pose, seen from the front (the "front" framing of
    ``core.render.named_views``) on a white background, as an 8-bit RGBA image of PREVIEW_SIZE."""
    from ..images import rgba_image
    from ..posing import avatar_scene
    from ..render import render
    from ..render.named_views import camera_for

    width, height = PREVIEW_SIZE
    scene = avatar_scene(avatar)
    camera = camera_for("front", scene.means, avatar.binding.part, avatar.part_names, width, height)
    return rgba_image(render(scene, camera, background=PREVIEW_BACKGROUND))
