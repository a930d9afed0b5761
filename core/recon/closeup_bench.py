"""Close-up scores on synthetic subjects with known truth (BENCHMARKS.md, docs/recon.md).

The truth is the project's sample person (``core.recon.sample_person``) seeded anew: it is
photographed from the front (720 x 1080) and, optionally, in a face close-up
(:func:`core.recon.sample_person.face_camera`); ``lca create`` makes an
avatar from the photos; both avatars, in the canonical pose, are rendered in 512 x 512
close-ups (the named views ``face``, 20 degrees to the side so not the face photo's own
view, and ``hand.L``, ``hand.R``), each framed on its own head or hand as ``lca render
--camera face`` frames it (the created body's shape differs a little from the truth's, so
one shared camera would score the shape fit instead of the close-up), and compared by PSNR
and SSIM over the pixels that either covers. The face close-up is scored twice: ``face``
over its whole frame and ``face.head`` over the head's pixels alone (a third of the face's
frame is the shirt below the chin, whose stripes carried two thirds of its squared error
at seed 11: that is the body fit's placing of the chest, not the face).

    python -m core.recon.closeup_bench --seeds 11 --quality draft [--face-photo] [--out DIR]
        [--truth DIR/seed11/truth.lca]    (score another revision on the same truth)
    python -m core.recon.closeup_bench --truth DIR/seed11/truth.lca --score A.lca [B.lca ...]
        [--parts]   (score saved avatars, e.g. made by an older revision; --parts adds the
                     face close-up's squared error by the truth's body part)
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from ..avatar.avatar import Avatar
from ..body.parts import in_parts
from ..posing import avatar_scene
from ..render import render
from ..render.named_views import camera_for
from ..render.types import Camera
from .losses import masked_psnr, ssim_map

SIZE = 512
CLOSE_UPS = ("face", "hand.L", "hand.R")
"""The named close-up views scored, framed as `lca render --camera NAME` frames them (each
hand from its own side) except the face, seen FACE_ASIDE degrees to the side."""
FACE_ASIDE = 20.0
"""Degrees of azimuth off the front for the face close-up, so not the face photo's own view."""
BACKGROUND = (0.5, 0.5, 0.5)
HEAD_PARTS = ("head", "eyes")
"""The parts whose pixels the ``face.head`` score covers."""


@dataclass(frozen=True)
class CloseUpScore:
    """PSNR (dB) and mean SSIM of one close-up, over the pixels either avatar covers."""

    view: str
    psnr: float
    ssim: float


def close_up_camera(truth: Avatar, view: str, size: int = SIZE) -> Camera:
    """The close-up camera ``view`` (CLOSE_UPS) framed on ``truth`` in the canonical pose."""
    from ..render.named_views import parse_view

    spec = parse_view(view, size, size)
    if view == "face":
        spec = replace(spec, azimuth=FACE_ASIDE)
    means = avatar_scene(truth).means
    return camera_for(spec, means, truth.binding.part, truth.part_names, size, size)


def close_up_scores(truth: Avatar, made: Avatar, size: int = SIZE) -> list[CloseUpScore]:
    """Scores of ``made`` against ``truth`` in every close-up of CLOSE_UPS, each framed on
    its own avatar, over the pixels either covers; the face close-up is scored a second
    time (view ``face.head``) over the pixels where either avatar's head (HEAD_PARTS) shows,
    leaving out the shirt below the chin that fills a third of its frame."""
    scores = []
    for view in CLOSE_UPS:
        cameras = close_up_camera(truth, view, size), close_up_camera(made, view, size)
        a, b = _render_both(truth, made, cameras)
        similarity = ssim_map(b.rgb.clamp(0, 1), a.rgb.clamp(0, 1))
        masks = {view: (a.alpha > 0.5) | (b.alpha > 0.5)}
        if view == "face":
            a_head, b_head = _render_both(truth, made, cameras, HEAD_PARTS)
            masks["face.head"] = (a_head.alpha > 0.5) | (b_head.alpha > 0.5)
        for name, covered in masks.items():
            scores.append(
                CloseUpScore(
                    view=name,
                    psnr=masked_psnr(b.rgb.clamp(0, 1), a.rgb.clamp(0, 1), covered),
                    ssim=float(similarity[covered].mean()),
                )
            )
    return scores


@dataclass(frozen=True)
class PartError:
    """The face close-up's error over the pixels where the truth shows one body part
    ("background" where only the made avatar covers): its share of the frame's squared
    error, its pixel count and its PSNR (dB)."""

    part: str
    share: float
    pixels: int
    psnr: float


def face_error_by_part(truth: Avatar, made: Avatar, size: int = SIZE) -> list[PartError]:
    """Where the face close-up's squared error lies, by the truth's part pass over the
    pixels either avatar covers (as the ``face`` score counts them), largest share first."""
    cameras = close_up_camera(truth, "face", size), close_up_camera(made, "face", size)
    a, b = _render_both(truth, made, cameras)
    covered = (a.alpha > 0.5) | (b.alpha > 0.5)
    error = (a.rgb.clamp(0, 1) - b.rgb.clamp(0, 1)).square().mean(-1)
    total = float(error[covered].sum())
    rows = []
    for index in sorted(set(a.part[covered].tolist())):
        here = covered & (a.part == index)
        name = truth.part_names[index] if index >= 0 else "background"
        psnr = masked_psnr(b.rgb.clamp(0, 1), a.rgb.clamp(0, 1), here)
        share = float(error[here].sum()) / total if total > 0 else 0.0
        rows.append(PartError(name, share, int(here.sum()), psnr))
    return sorted(rows, key=lambda r: -r.share)


@torch.no_grad()
def _render_both(
    truth: Avatar, made: Avatar, cameras: tuple[Camera, Camera], parts: tuple[str, ...] = ()
):
    """``truth`` and ``made``, each in its own camera of ``cameras``, over BACKGROUND (with
    only ``parts`` opaque, where given)."""
    return tuple(
        render(avatar_scene(_only(x, parts) if parts else x), c, background=BACKGROUND)
        for x, c in zip((truth, made), cameras, strict=True)
    )


def _only(avatar: Avatar, parts: tuple[str, ...]) -> Avatar:
    """``avatar`` with every Gaussian outside ``parts`` made transparent."""
    keep = in_parts(avatar.binding.part, avatar.part_names, parts)
    opacity = torch.where(
        keep,
        avatar.binding.opacity_logit,
        torch.full_like(keep, -30.0, dtype=avatar.binding.opacity_logit.dtype),
    )
    return replace(avatar, binding=replace(avatar.binding, opacity_logit=opacity), correction=None)


def close_up_images(truth: Avatar, made: Avatar, size: int = 256):
    """A PIL image: a row per close-up (truth | made)."""
    from PIL import Image

    from ..images import rgb_image

    sheet = Image.new("RGB", (2 * size, len(CLOSE_UPS) * size))
    for row, view in enumerate(CLOSE_UPS):
        for col, avatar in enumerate((truth, made)):
            camera = close_up_camera(avatar, view, size)
            with torch.no_grad():
                result = render(avatar_scene(avatar), camera, background=BACKGROUND)
            sheet.paste(rgb_image(result), (col * size, row * size))
    return sheet


def _photo(path: Path, truth: Avatar, body, camera: Camera) -> Path:
    from PIL import Image

    from ..body.poses import rest_pose
    from .sample_person import photograph

    Image.fromarray(photograph(truth, body, rest_pose(body), camera)).save(path)
    return path


def main(argv: list[str] | None = None) -> int:
    from ..body.anny_body import AnnyBody
    from ..create_settings import CreateSettings
    from . import sample_person
    from .create import create_avatar

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="11", help="comma-separated truth seeds")
    parser.add_argument("--quality", default="draft")
    parser.add_argument("--face-photo", action="store_true", help="add a face close-up photo")
    parser.add_argument("--out", default="out/closeup_bench")
    parser.add_argument(
        "--truth",
        help="a truth .lca saved by an earlier run (its folder's truth.lca) instead of the "
        "sample person made by this code, so that two revisions are scored on one truth",
    )
    parser.add_argument(
        "--score",
        nargs="+",
        metavar="LCA",
        help="only score these saved avatars (made by any revision) against --truth",
    )
    parser.add_argument(
        "--parts",
        action="store_true",
        help="with --score: also where the face close-up's error lies, by the truth's parts",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.score:
        from ..avatar.lca_file import load_lca

        if not args.truth:
            parser.error("--score needs --truth")
        truth = load_lca(Path(args.truth))
        for path in args.score:
            made = load_lca(Path(path))
            row = {"avatar": path, "scores": [asdict(s) for s in close_up_scores(truth, made)]}
            if args.parts:
                row["face_by_part"] = [asdict(e) for e in face_error_by_part(truth, made)]
            print(json.dumps(row))
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    body = AnnyBody()
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        from ..avatar.lca_file import load_lca, save_lca

        folder = out / f"seed{seed}"
        folder.mkdir(exist_ok=True)
        if args.truth:
            truth = load_lca(Path(args.truth))
        else:
            truth = sample_person.sample_avatar(body, seed=seed)
            save_lca(truth, folder / "truth.lca")
        photos = [_photo(folder / "front.png", truth, body, sample_person.sample_camera(0.0))]
        if args.face_photo:
            camera = sample_person.face_camera(truth)
            photos.append(_photo(folder / "face.png", truth, body, camera))
        start = time.perf_counter()
        created = create_avatar(photos, CreateSettings(quality=args.quality, device="cpu"))
        seconds = time.perf_counter() - start
        scores = close_up_scores(truth, created.avatar)
        name = f"{args.quality}{'_face' if args.face_photo else ''}"
        save_lca(created.avatar, folder / f"avatar_{name}.lca")
        close_up_images(truth, created.avatar).save(folder / f"closeups_{name}.png")
        row = {
            "seed": seed,
            "quality": args.quality,
            "face_photo": args.face_photo,
            "create_s": round(seconds, 1),
            "stages": asdict(created.seconds),
            "scores": [asdict(s) for s in scores],
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    (out / f"scores_{args.quality}{'_face' if args.face_photo else ''}.json").write_text(
        json.dumps(rows, indent=2)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
