"""Build the extension zip with the build script bundled in Blender (the bpy module).

``make extension`` runs ``python -m lca_addon.build_extension``, which fetches the wheels the
manifest lists into ``wheels/`` when they are missing (:func:`fetch_wheels`; ``--fetch-wheels``
does only that, at install time, so later builds need no network), validates the manifest,
builds ``dist/<id>-<version>.zip`` and validates the zip; tests call :func:`build_extension`.
What goes into the zip is set by ``[build] paths_exclude_pattern`` in the manifest, which
also leaves this file out: it is a development tool, not part of the add-on.
"""

import argparse
import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def blender_ext_script() -> Path:
    """Blender's ``blender_ext.py`` inside the installed bpy module (bpy is not imported)."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The bpy module is not installed; run `make setup` (bpy==5.0.1).")
    package = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(package.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not found:
        raise RuntimeError(f"No blender_ext.py under '{package}'; reinstall bpy==5.0.1.")
    return found[-1]


def read_manifest(source_dir: Path) -> dict:
    return tomllib.loads((source_dir / "blender_manifest.toml").read_text(encoding="utf-8"))


def zip_name(source_dir: Path) -> str:
    """``<id>-<version>.zip`` from the manifest in ``source_dir``."""
    manifest = read_manifest(source_dir)
    return f"{manifest['id']}-{manifest['version']}.zip"


def wheel_pin(path: str) -> str:
    """``name==version`` of a wheel file name (``roma-1.8.0-py3-none-any.whl``)."""
    name, version = Path(path).name.split("-")[:2]
    return f"{name}=={version}"


def fetch_wheels(source_dir: Path = ROOT) -> list[Path]:
    """Download the manifest's wheels that are not in ``source_dir`` yet (pip download, no
    dependencies, binary only); returns those fetched."""
    fetched = []
    for entry in read_manifest(source_dir).get("wheels", []):
        path = (source_dir / entry).resolve()
        if path.is_file():
            continue
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        command += ["--only-binary=:all:", "--dest", str(path.parent), wheel_pin(entry)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0 or not path.is_file():
            output = (result.stdout + result.stderr).strip()
            raise RuntimeError(f"Could not download {path.name} ({output}); check the network.")
        fetched.append(path)
    return fetched


def _run(*args: str) -> None:
    result = subprocess.run(
        [sys.executable, str(blender_ext_script()), *args], capture_output=True, text=True
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise RuntimeError(f"blender_ext.py {args[0]} failed: {output}")


def build_extension(source_dir: Path = ROOT, output_dir: Path = ROOT / "dist") -> Path:
    """Validate, build and validate again; return the zip's path."""
    source_dir, output_dir = Path(source_dir), Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    fetch_wheels(source_dir)
    _run("validate", str(source_dir))
    _run("build", "--source-dir", str(source_dir), "--output-dir", str(output_dir))
    path = output_dir / zip_name(source_dir)
    _run("validate", str(path))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", type=Path, default=ROOT)
    parser.add_argument("--output-dir", type=Path, default=ROOT / "dist")
    parser.add_argument(
        "--fetch-wheels", action="store_true", help="only download the manifest's wheels"
    )
    args = parser.parse_args(argv)
    try:
        if args.fetch_wheels:
            for path in fetch_wheels(args.source_dir):
                print(path)
            return 0
        path = build_extension(args.source_dir, args.output_dir)
    except RuntimeError as err:
        print(err, file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
