"""``lca warm``: build the Anny body model's cache once (``make`` runs it)."""

from __future__ import annotations

import argparse
import time

HELP = "Build the Anny body model's cache (done once by `make`)."


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    return subparsers.add_parser("warm", help=HELP, description=HELP)


def run(args: argparse.Namespace) -> int:
    from ..body.anny_body import AnnyBody, anny_cache_dir, anny_cache_is_warm

    if anny_cache_is_warm():
        print(f"Anny cache is ready in {anny_cache_dir()}")
    else:
        print(
            f"Building the Anny body model cache in {anny_cache_dir()} (once, about 40 s) ...",
            flush=True,
        )
    start = time.perf_counter()
    AnnyBody().forward()
    print(f"Anny body model ready ({time.perf_counter() - start:.1f} s).")
    return 0
