"""Training configs: TOML files (stdlib ``tomllib``) read into typed, frozen dataclasses.

configs/pretrain.toml and configs/posttrain.toml are examples; every field has a default
here, and an unknown section or key is refused in one sentence (no typo passes silently).
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PATH_LIMIT, LcaError, quoted


@dataclass(frozen=True)
class DataConfig:
    """train: folder of shards (`lca data synth`), "" for none; video: video folders
    (`lca data video`), trained on beside the shards, each as one subject whose frames are
    its views (core.train.video_subjects); input_views: photos the network gets per
    subject (1..); target_views: other views its prediction is rendered into; template_gaussians:
    Gaussians of the template each subject is predicted on; shape_noise: standard deviation
    of the noise added to the true body shape (phenotypes, 0..1), standing for body-fitting
    error; camera_noise: metres of noise on the input cameras' positions (likewise)."""

    train: str = "data/synth"
    video: tuple[str, ...] = ()
    input_views: int = 1
    target_views: int = 2
    template_gaussians: int = 6000
    shape_noise: float = 0.02
    camera_noise: float = 0.01


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with linear warm-up then a cosine to final_lr_share of lr; batch: subjects per
    optimiser step over all ranks, accumulate: micro-steps it is split into per rank."""

    steps: int = 1000
    batch: int = 4
    accumulate: int = 1
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: int = 50
    final_lr_share: float = 0.05
    clip: float = 1.0


@dataclass(frozen=True)
class LossConfig:
    """Weights: (1 - ssim) L1 + ssim (1 - SSIM) inside the image, mask |alpha - mask|,
    offset: mean squared offset correction (triangle sizes)."""

    ssim: float = 0.2
    mask: float = 0.5
    offset: float = 0.01


@dataclass(frozen=True)
class RunConfig:
    """seed; log_every, save_every: steps; device: "auto", "cpu" or "cuda"; stage: written
    into checkpoints ("pretrain" or "posttrain")."""

    seed: int = 0
    log_every: int = 10
    save_every: int = 100
    device: str = "auto"
    stage: str = "pretrain"


@dataclass(frozen=True)
class TrainConfig:
    """A whole training run: the model size and the sections above."""

    model: str = "tiny"
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def __post_init__(self) -> None:
        o, d = self.optim, self.data
        if o.steps < 1 or o.batch < 1 or o.accumulate < 1 or o.warmup < 0:
            raise LcaError("optim.steps, batch and accumulate must be 1 or more, warmup 0 or more.")
        if d.input_views < 1 or d.target_views < 1 or d.template_gaussians < 1:
            raise LcaError(
                "data.input_views, target_views and template_gaussians must be 1 or more."
            )
        if not d.train and not d.video:
            raise LcaError(
                "data.train or data.video must name training data; see configs/pretrain.toml."
            )
        if self.run.device not in ("auto", "cpu", "cuda"):
            raise LcaError(f"run.device must be auto, cpu or cuda, not {quoted(self.run.device)}.")

    def to_dict(self) -> dict:
        """The config as plain JSON values (tuples as lists), as TOML and state files hold it."""
        data = dataclasses.asdict(self)
        data["data"]["video"] = list(self.data.video)
        return data


_SECTIONS = {"data": DataConfig, "optim": OptimConfig, "loss": LossConfig, "run": RunConfig}


def config_from_dict(data: dict, source: str = "config") -> TrainConfig:
    """The TrainConfig of a parsed TOML (or :meth:`TrainConfig.to_dict`) dict."""
    top = {"model"} | set(_SECTIONS)
    unknown = sorted(set(data) - top)
    if unknown:
        raise LcaError(
            f"{source} has an unknown section or key {quoted(unknown[0])}; use "
            f"{', '.join(sorted(top))}."
        )
    values: dict = {}
    if "model" in data:
        values["model"] = str(data["model"])
    for name, kind in _SECTIONS.items():
        section = data.get(name, {})
        if not isinstance(section, dict):
            raise LcaError(f"{source}: [{name}] must be a table.")
        names = {f.name: f for f in dataclasses.fields(kind)}
        converted = {}
        for key, value in section.items():
            if key not in names:
                raise LcaError(
                    f"{source} has an unknown key {quoted(key)} in [{name}]; use "
                    f"{', '.join(names)}."
                )
            want = type(names[key].default)
            if want is tuple and isinstance(value, list) and all(isinstance(v, str) for v in value):
                value = tuple(value)
            if want is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if type(value) is not want:
                kind_name = "list of strings" if want is tuple else want.__name__
                raise LcaError(
                    f"{source}: {name}.{key} must be a {kind_name}, not {quoted(value)}."
                )
            converted[key] = value
        values[name] = kind(**converted)
    return TrainConfig(**values)


def load_config(path: Path | str) -> TrainConfig:
    """The TrainConfig in the TOML file ``path``; any problem raises LcaError."""
    path = Path(path)
    shown = f"Config {quoted(path, PATH_LIMIT)}"
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise LcaError(f"{shown} does not exist; see configs/pretrain.toml.") from None
    except (OSError, UnicodeDecodeError) as err:
        raise LcaError(f"{shown} cannot be read ({type(err).__name__}).") from None
    except tomllib.TOMLDecodeError as err:
        raise LcaError(f"{shown} is not valid TOML ({err}).") from None
    return config_from_dict(data, shown)
