"""``lca train --config X [--init CKPT] [--resume DIR]``: train the LCA network
(core.train.loop). Under torchrun every rank runs this module:

    torchrun --nproc_per_node N -m core.commands.train --config configs/pretrain.toml

Ctrl-C saves a resumable state and exits 130.
"""

from __future__ import annotations

import argparse
import sys

from .options import add_threads_option, set_threads

HELP = "Train the LCA network on shards of `lca data synth` (runs under torchrun too)."


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("train", help=HELP, description=HELP)
    _options(p)
    return p


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="a TOML config (configs/pretrain.toml)")
    p.add_argument("--init", help="start from this checkpoint (e.g. pretraining's)")
    p.add_argument("--resume", help="resume the run in this folder (its own config)")
    p.add_argument("--out", help="the run's folder (default runs/<config name>)")
    add_threads_option(p)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..body.anny_body import AnnyBody
    from ..errors import LcaError
    from ..progress import StageLine, no_progress
    from ..recon.create import resolve_device
    from ..train import distributed
    from ..train.config import load_config
    from ..train.loop import Interrupted, train

    set_threads(args.threads)
    config = load_config(args.config)
    if args.resume and args.out and Path(args.out) != Path(args.resume):
        raise LcaError("Give either --resume DIR or --out DIR, not both.")
    run_dir = Path(args.resume or args.out or Path("runs") / Path(args.config).stem)
    device = distributed.local_device(resolve_device(config.run.device))
    distributed.start(device)
    main_rank = distributed.is_main()  # asked before the group is gone
    try:
        line = StageLine() if main_rank else None
        try:
            result = train(
                config,
                run_dir,
                AnnyBody(),
                init=Path(args.init) if args.init else None,
                resume=bool(args.resume),
                device=device,
                progress=line or no_progress,
                report=lambda text: print(text, file=sys.stderr, flush=True),
            )
        finally:
            if line is not None:
                line.close()
    except Interrupted as err:
        print(f"lca: {err}", file=sys.stderr)
        return 130
    finally:
        distributed.stop()
    if main_rank:
        last = result.state.losses[-1][1] if result.state.losses else float("nan")
        print(
            f"Trained {result.state.step} steps ({result.seconds:.0f} s here), last loss "
            f"{last:.4f}; checkpoint {result.checkpoint}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    """The torchrun entry: the same command, run by each rank."""
    from .main import main as lca_main

    return lca_main(["train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
