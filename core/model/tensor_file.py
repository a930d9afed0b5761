"""Named tensors and a JSON header in one safetensors file (no pickle): what checkpoints and
training states are written as. Reading checks the file before it touches the data and
refuses any problem in one sentence.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import Tensor

from ..errors import PATH_LIMIT, LcaError, quoted
from ..fileio import atomic_path

HEADER_KEY = "lca"
"""The safetensors metadata key that holds the JSON header."""


def write_tensor_file(path: Path | str, tensors: dict[str, Tensor], header: dict) -> None:
    """Write ``tensors`` (contiguous CPU copies) and ``header`` (JSON) to ``path``, through a
    temporary file and a rename."""
    from safetensors.torch import save

    data = {name: t.detach().cpu().contiguous() for name, t in tensors.items()}
    blob = save(data, metadata={HEADER_KEY: json.dumps(header, sort_keys=True)})
    with atomic_path(path) as tmp:
        tmp.write_bytes(blob)  # into the file atomic_path made, keeping its usual mode


def read_tensor_file(path: Path | str, what: str) -> tuple[dict[str, Tensor], dict]:
    """(tensors, header) of a file :func:`write_tensor_file` wrote; ``what`` names the file in
    the sentence ("Checkpoint"). Missing, unreadable, corrupt or header-less files raise
    LcaError."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    shown = f"{what} {quoted(path, PATH_LIMIT)}"
    if not path.exists():
        raise LcaError(f"{shown} does not exist; check the path.")
    if not path.is_file():
        raise LcaError(f"{shown} is not a file; give the .safetensors file.")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        reason = str(err).splitlines()[0][:80] if str(err) else type(err).__name__
        raise LcaError(f"{shown} is corrupt or not a safetensors file ({reason}).") from None
    if HEADER_KEY not in metadata:
        raise LcaError(f"{shown} has no LCA header; it was not written by `lca train`.")
    try:
        header = json.loads(metadata[HEADER_KEY])
    except json.JSONDecodeError:
        raise LcaError(f"{shown} has a corrupt header; write it again.") from None
    if not isinstance(header, dict):
        raise LcaError(f"{shown} has a corrupt header; write it again.")
    return tensors, header


def revision() -> str:
    """The code's git revision (``git rev-parse HEAD`` of this checkout, "+dirty" when it has
    uncommitted changes), or "unknown" where git or the repository is absent."""
    import subprocess

    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def equal_tensors(a: dict[str, Tensor], b: dict[str, Tensor]) -> bool:
    """True when both hold the same names with bit-identical tensors."""
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]) for k in a
    )
