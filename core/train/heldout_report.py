"""The tables `lca data score` prints from held-out scores (core.train.heldout)."""

from __future__ import annotations

from .heldout import HELD_OUT, KINDS, MATCH_TOLERANCE, HeldoutScores, held_out_psnr, steps_to_match

_LABELS = {"three_quarter": "3/4"}


def _label(kind: str) -> str:
    return _LABELS.get(kind, kind)


def report_lines(scores: HeldoutScores) -> list[str]:
    """The start table (PSNR and SSIM of each start, unrefined), then, when refinement step
    counts were scored, the curve and the match (core.train.heldout module docstring)."""
    today, network = scores.today[0], scores.network[0]
    lines = [
        f"{scores.subjects} held-out subjects, inside the person mask, PSNR (dB) and SSIM:",
        "view    today         network       gain",
    ]
    for kind in KINDS:
        a, b = today.psnr[kind], network.psnr[kind]
        sa, sb = today.ssim[kind], network.ssim[kind]
        cells = f"{a:6.2f} {sa:5.3f}  {b:6.2f} {sb:5.3f}  {b - a:+5.2f} {sb - sa:+6.3f}"
        lines.append(f"{_label(kind):<6} {cells}")
    if len(scores.steps) == 1:
        return lines
    held = "+".join(_label(k) for k in HELD_OUT)
    lines += [
        "",
        "Refined on the input photo (`lca create`'s appearance fitting), PSNR (dB) / SSIM:",
        "steps start    " + " ".join(f"{_label(k):>12}" for k in KINDS) + f"  {'held-out':>8}",
    ]
    for j, n in enumerate(scores.steps):
        for name, entry in (("today", scores.today[j]), ("network", scores.network[j])):
            cells = " ".join(f"{entry.psnr[k]:6.2f}/{entry.ssim[k]:5.3f}" for k in KINDS)
            lines.append(f"{n:5d} {name:<8} {cells}  {held_out_psnr(entry):8.2f}")
    lines.append(f"held-out: the mean PSNR of {held}.")
    match = steps_to_match(scores)
    if match is None:
        return lines
    standard = f"today's start after {match.reference} steps (standard quality)"
    if match.steps is None:
        lines.append(
            f"The network's start does not come within {MATCH_TOLERANCE} dB of {standard} "
            f"in {scores.steps[-1]} steps."
        )
    else:
        lines.append(
            f"The network's start matches {standard} within {MATCH_TOLERANCE} dB after "
            f"{match.steps} steps: {match.ratio:.2f} of them (goal: at most 1/3)."
        )
    per_kind = []
    for kind in KINDS:
        m = steps_to_match(scores, (kind,))
        per_kind.append(f"{_label(kind)} {'-' if m.steps is None else m.steps}")
    lines.append("Steps to match, view by view (-: not within the counts): " + ", ".join(per_kind))
    return lines
