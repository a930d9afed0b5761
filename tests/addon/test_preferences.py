"""The preferences: the dependency check, the installer (pip in a subprocess, no network: a
wheel made here, an unreachable index), a Python environment of another version refused, and
the chosen packages folder on sys.path while the extension is enabled."""

import base64
import dataclasses
import hashlib
import importlib
import importlib.metadata
import re
import sys
import sysconfig
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.addon.util import BPY_MISSING, PACKAGE, one_sentence, raise_error
from tests.layout_recorder import RecordingLayout

bpy = pytest.importorskip("bpy", reason=BPY_MISSING)
import addon_utils  # noqa: E402  (a Blender module, importable once bpy is)

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE = "http://127.0.0.1:9/simple"
"""An index nobody serves (the discard port): pip's connection is refused at once."""


def make_wheel(folder: Path, name: str = "lca_tiny", version: str = "0.1") -> Path:
    """A minimal pure wheel of a one-module package ``name`` (``VALUE = 42``)."""
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": "VALUE = 42\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: lca-tests\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = hashlib.sha256(text.encode()).digest()
        encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        record.append(f"{path},sha256={encoded},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def lock_pins() -> dict[str, str]:
    """{lower-case name: version} from requirements.lock."""
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.strip().split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_pins_and_bundled_wheels_match_requirements_lock():
    from lca_addon import build_extension, dependencies, pip_install

    pins = lock_pins()
    for requirement in dependencies.REQUIREMENTS:
        if requirement.source != dependencies.BLENDER:
            assert pins[normalized(requirement.distribution)] == requirement.version, requirement
    for requirement in dependencies.PHOTO_REQUIREMENTS:
        assert pins[normalized(requirement.distribution)] == requirement.version, requirement
    for pin in pip_install.TORCH_DEPENDENCY_PINS + pip_install.PHOTO_DEPENDENCY_PINS:
        name, version = pin.split("==")
        assert pins[normalized(name)] == version, pin
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
    bundled = {
        normalized(r.distribution) for r in dependencies.REQUIREMENTS if r.source == "bundled"
    }
    wheels = manifest["wheels"]
    assert {normalized(build_extension.wheel_pin(w).split("==")[0]) for w in wheels} == bundled
    for wheel in wheels:
        name, version = build_extension.wheel_pin(wheel).split("==")
        assert wheel.endswith("-py3-none-any.whl"), "bundled wheels must serve 3.11 and 3.13"
        assert pins[normalized(name)] == version, wheel


def test_photo_pins_cover_what_mediapipe_needs():
    """Installed with --no-deps, the photo packages must list every dependency of mediapipe
    (as this venv's pip installed it), all the way down, but numpy (Blender's) and what the
    torch step installs."""
    from packaging.requirements import Requirement as Spec

    from lca_addon import dependencies, pip_install

    try:
        importlib.metadata.version("mediapipe")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("mediapipe is not installed here (the 'photos' extras)")
    needed, todo = set(), ["mediapipe", "opencv-contrib-python"]
    while todo:
        name = todo.pop()
        for text in importlib.metadata.requires(name) or ():
            spec = Spec(text)
            if spec.marker is None or spec.marker.evaluate({"extra": ""}):
                if normalized(spec.name) not in needed:
                    needed.add(normalized(spec.name))
                    todo.append(spec.name)
    photo = {normalized(r.distribution) for r in dependencies.PHOTO_REQUIREMENTS}
    photo |= {normalized(pin.split("==")[0]) for pin in pip_install.PHOTO_DEPENDENCY_PINS}
    torch_step = {normalized(r.distribution) for r in dependencies.REQUIREMENTS}
    assert needed - photo == {"numpy", "pillow"} and "pillow" in torch_step
    assert photo - needed == {"mediapipe"}


def test_zip_bundles_the_pure_wheels(extension_zip):
    names = set(zipfile.ZipFile(extension_zip).namelist())
    assert {"wheels/roma-1.8.0-py3-none-any.whl", "wheels/trimesh-5.2.0-py3-none-any.whl"} <= names


def test_check_with_torch_present(addon):
    dependencies = addon.module("lca_addon.dependencies")
    found = {status.requirement.module: status for status in dependencies.check()}
    assert set(found) >= {"torch", "safetensors", "PIL", "anny", "numpy"}
    assert all(status.present for status in found.values())
    assert found["torch"].version.startswith("2.13.0")
    assert dependencies.missing_dependency() is None

    preferences = addon.module("lca_addon.preferences")
    prefs = bpy.context.preferences.addons[PACKAGE].preferences
    assert isinstance(prefs, preferences.LcaPreferences)
    layout = RecordingLayout()
    preferences.draw_preferences(prefs, layout)
    assert "Every package LCA Avatar needs is present." in layout.texts
    assert any(text.startswith("torch 2.13.0") for text in layout.texts)
    assert preferences.LCA_OT_install_dependencies.bl_idname in layout.texts

    panel = RecordingLayout()
    addon.module("lca_addon.panels").LCA_PT_avatar.draw(
        type("Panel", (), {"layout": panel})(), bpy.context
    )
    assert not [text for text in panel.texts if "LCA Avatar needs" in text]


def test_missing_sentence_is_one_sentence(addon):
    dependencies = addon.module("lca_addon.dependencies")
    sentence = dependencies.missing_sentence(("torch", "anny"))
    assert one_sentence(sentence) and "torch, anny" in sentence
    assert "Install Dependencies" in sentence
    assert dependencies.missing_sentence(()) is None


def test_installer_installs_a_local_wheel_into_the_target(addon, tmp_path):
    pip_install = addon.module("lca_addon.pip_install")
    python_env = addon.module("lca_addon.python_env")
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    make_wheel(wheelhouse)
    target = tmp_path / "site-packages"
    step = pip_install.PipStep(("lca_tiny==0.1",), find_links=(str(wheelhouse),), no_index=True)

    job = pip_install.start_install(target, [step], echo=False)
    result = job.wait()

    assert result.ok, result.message
    assert one_sentence(result.message) and str(target) in result.message
    assert (target / "lca_tiny" / "__init__.py").is_file()
    assert not pip_install.staging_folder(target).exists()
    assert job.fraction == 1.0 and job.progress.installed == ["lca_tiny-0.1"]
    added: list[str] = []
    try:
        python_env.use_folders([target], added)
        assert str(target) in sys.path and added == [str(target)]
        assert importlib.import_module("lca_tiny").VALUE == 42
    finally:
        python_env.forget_folders(added)
        sys.modules.pop("lca_tiny", None)
    assert str(target) not in sys.path


def test_pip_command_for_the_torch_builds(addon):
    pip_install = addon.module("lca_addon.pip_install")
    for build in pip_install.BUILDS:
        first, second = pip_install.install_steps(build)
        command = pip_install.pip_command(first, Path("/t"), python="py")
        assert command[:6] == ["py", "-m", "pip", "install", "--target", "/t"]
        assert command[command.index("--extra-index-url") + 1].endswith(f"/whl/{build}")
        assert "--index-url" not in command  # pip's configured index for the rest
        assert "torch==2.13.0" in command and "--only-binary=:all:" in command
        assert "numpy" not in " ".join(command)
        assert second.no_deps and set(second.requirements) == {"warp-lang==1.19.0", "anny==0.6.2"}


def test_photo_packages_join_the_no_deps_step(addon):
    pip_install = addon.module("lca_addon.pip_install")
    dependencies = addon.module("lca_addon.dependencies")
    plain = pip_install.install_steps("cpu")
    first, second = pip_install.install_steps("cpu", photos=True, python=(3, 11))
    assert first == plain[0] and second.no_deps  # the torch step is unchanged
    assert set(second.requirements) == (
        set(plain[1].requirements)
        | {r.pin for r in dependencies.PHOTO_REQUIREMENTS}
        | set(pip_install.PHOTO_DEPENDENCY_PINS)
    )
    assert "mediapipe==0.10.21" in second.requirements
    assert "opencv-contrib-python==4.11.0.86" in second.requirements
    assert not [pin for pin in second.requirements if pin.startswith(("numpy", "pillow"))]
    command = pip_install.pip_command(second, Path("/t"), python="py")
    assert "--no-deps" in command and "--only-binary=:all:" in command

    # Python 3.13 (Blender 5.1+): mediapipe 0.10.21 has no wheel, said before pip starts.
    with pytest.raises(ValueError) as refused:
        pip_install.install_steps("cpu", photos=True, python=(3, 13))
    message = str(refused.value)
    assert message == dependencies.photo_python_problem((3, 13)) and one_sentence(message)
    assert "mediapipe 0.10.21" in message and "Python 3.13" in message
    assert "lca create" in message and "File > Import > LCA Avatar" in message
    assert dependencies.photo_python_problem((3, 11)) is None


def test_installer_installs_the_photo_packages_from_a_local_index(addon, tmp_path):
    """The no-deps step with the photo packages, each a tiny wheel of its pinned name and
    version in a local folder (no network), installs in one job, with progress to the end."""
    pip_install = addon.module("lca_addon.pip_install")
    _, step = pip_install.install_steps("cpu", photos=True, python=(3, 11))
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    for pin in step.requirements:
        name, version = pin.split("==")
        make_wheel(wheelhouse, re.sub(r"[-.]+", "_", name).lower(), version)
    local = dataclasses.replace(step, find_links=(str(wheelhouse),), no_index=True)
    target = tmp_path / "site-packages"

    job = pip_install.start_install(target, [local], echo=False)
    result = job.wait()

    assert result.ok, result.message
    assert one_sentence(result.message) and f"{len(step.requirements)} packages" in result.message
    installed = {normalized(entry.rsplit("-", 1)[0]) for entry in job.progress.installed}
    assert installed == {normalized(pin.split("==")[0]) for pin in step.requirements}
    assert "mediapipe-0.10.21" in job.progress.installed and job.fraction == 1.0
    assert (target / "mediapipe" / "__init__.py").is_file()
    assert (target / "opencv_contrib_python" / "__init__.py").is_file()


def test_install_operator_takes_the_photo_option(addon, tmp_path, monkeypatch):
    """The operator installs with MediaPipe when the option is ticked (the default); where
    MediaPipe has no build it warns in one sentence and installs the rest. pip installs a
    local wheel here instead of the real packages."""
    preferences = addon.module("lca_addon.preferences")
    pip_install = addon.module("lca_addon.pip_install")
    dependencies = addon.module("lca_addon.dependencies")
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    make_wheel(wheelhouse)
    local = pip_install.PipStep(("lca_tiny==0.1",), find_links=(str(wheelhouse),), no_index=True)
    asked = []

    def install_steps(build, photos=False):
        asked.append((build, photos))
        return (local,)

    prefs = bpy.context.preferences.addons[PACKAGE].preferences
    assert prefs.install_photos  # on by default
    layout = RecordingLayout()
    preferences.draw_preferences(prefs, layout)
    assert "install_photos" in layout.texts and "torch_build" in layout.texts
    assert any(text.startswith("mediapipe") for text in layout.texts)  # its status
    assert preferences.PHOTOS_LABEL == "Also install photo reconstruction (MediaPipe)"
    assert prefs.bl_rna.properties["install_photos"].name == preferences.PHOTOS_LABEL

    monkeypatch.setattr(pip_install, "install_steps", install_steps)
    monkeypatch.setattr(preferences, "install_folder", lambda create=False: tmp_path / "site")
    try:
        assert bpy.ops.lca.install_dependencies() == {"FINISHED"}
        assert (tmp_path / "site" / "lca_tiny" / "__init__.py").is_file()
        monkeypatch.setattr(dependencies, "PHOTO_PYTHONS", ())  # as on Python 3.13
        assert bpy.ops.lca.install_dependencies() == {"FINISHED"}
        problem = dependencies.photo_python_problem()
        messages = preferences.install_messages()
        assert messages[0] == problem and one_sentence(problem)
        assert messages[1].startswith("Installed 1 package into")
        layout = RecordingLayout()
        preferences.draw_preferences(prefs, layout)
        assert problem in layout.texts
        prefs.install_photos = False
        assert bpy.ops.lca.install_dependencies() == {"FINISHED"}
        assert len(preferences.install_messages()) == 1
    finally:
        prefs.install_photos = True
        addon.module("lca_addon.extension_state").current().install_messages.clear()
        monkeypatch.undo()
        preferences.apply_folders()
    assert asked == [("cpu", True), ("cpu", False), ("cpu", False)]
    assert str(tmp_path / "site") not in sys.path


def test_progress_follows_pips_output(addon):
    progress = addon.module("lca_addon.pip_install").PipProgress(steps=2)
    seen = [progress.fraction]
    for line in (
        "Collecting torch==2.13.0",
        "Downloading torch-2.13.0-cp311-none-linux_x86_64.whl (190.0 MB)",
        "Progress 0 of 100",
        "Progress 50 of 100",
        "Progress 100 of 100",
        "Installing collected packages: torch",
        "Successfully installed torch-2.13.0",
    ):
        progress.feed(line)
        seen.append(progress.fraction)
    assert seen == sorted(seen) and 0.2 < seen[4] < 0.4 and seen[-1] == 0.5
    progress.next_step()
    progress.feed("Successfully installed anny-0.6.2")
    assert progress.fraction == 1.0 and progress.installed == ["torch-2.13.0", "anny-0.6.2"]


def test_cancel_terminates_pip_and_keeps_the_previous_install(addon, tmp_path):
    pip_install = addon.module("lca_addon.pip_install")
    target = tmp_path / "site-packages"
    target.mkdir()
    (target / "kept.py").write_text("")
    slow = [sys.executable, "-c", "import time; print('Collecting x', flush=True); time.sleep(60)"]
    job = pip_install.InstallJob(target, [slow], echo=False).start()
    started = time.monotonic()
    while not job.output and time.monotonic() - started < 20:
        job.poll()
        time.sleep(0.05)
    result = job.cancel()
    assert result.cancelled and not result.ok and one_sentence(result.message)
    assert time.monotonic() - started < 20
    assert (target / "kept.py").is_file() and not pip_install.staging_folder(target).exists()


def test_offline_is_said_in_one_sentence(addon, tmp_path):
    pip_install = addon.module("lca_addon.pip_install")
    target = tmp_path / "site-packages"
    step = pip_install.PipStep(
        ("lca-offline-probe==1.0",), index_url=UNREACHABLE, timeout=1, retries=0
    )
    result = pip_install.start_install(target, [step], echo=False).wait()
    assert not result.ok and not result.cancelled
    assert result.message == pip_install.offline_sentence(UNREACHABLE)
    assert one_sentence(result.message) and "could not reach the package index" in result.message
    assert not target.exists() and not pip_install.staging_folder(target).exists()


def test_environment_of_another_python_version_is_refused(addon, tmp_path):
    python_env = addon.module("lca_addon.python_env")
    preferences = addon.module("lca_addon.preferences")
    this = sys.version_info[:2]
    other = (3, 12) if this != (3, 12) else (3, 11)
    folder = tmp_path / "lib" / f"python{other[0]}.{other[1]}" / "site-packages"
    (folder / "fake").mkdir(parents=True)
    (folder / "fake" / f"_C.cpython-{other[0]}{other[1]}-x86_64-linux-gnu.so").touch()

    problem = python_env.environment_problem(folder)
    assert one_sentence(problem)
    assert f"Python {other[0]}.{other[1]}" in problem and f"Python {this[0]}.{this[1]}" in problem
    assert python_env.environment_problem(Path(sysconfig.get_paths()["purelib"])) is None
    assert "does not exist" in python_env.environment_problem(tmp_path / "nowhere")

    prefs = bpy.context.preferences.addons[PACKAGE].preferences
    try:
        prefs.environment_path = str(folder)  # the update callback applies it
        assert str(folder) not in sys.path
        layout = RecordingLayout()
        preferences.draw_preferences(prefs, layout)
        assert problem in layout.texts

        fits = tmp_path / "lib" / f"python{this[0]}.{this[1]}" / "site-packages"
        fits.mkdir(parents=True)
        prefs.environment_path = str(fits)
        assert str(fits) in sys.path and str(folder) not in sys.path
    finally:
        prefs.environment_path = ""
    assert str(fits) not in sys.path


def test_install_folder_is_on_sys_path_while_enabled(addon):
    preferences = addon.module("lca_addon.preferences")
    folder = preferences.install_folder(create=True)
    (folder / "lca_probe_module.py").write_text("VALUE = 7\n")
    try:
        addon_utils.disable(PACKAGE, default_set=True, handle_error=raise_error)
        assert str(folder) not in sys.path
        addon_utils.enable(PACKAGE, default_set=True, handle_error=raise_error)
        assert str(folder) in sys.path
        assert importlib.import_module("lca_probe_module").VALUE == 7
        addon_utils.disable(PACKAGE, default_set=True, handle_error=raise_error)
        assert str(folder) not in sys.path
    finally:
        sys.modules.pop("lca_probe_module", None)
        (folder / "lca_probe_module.py").unlink()
        folder.rmdir()
        if not addon_utils.check(PACKAGE)[1]:
            addon_utils.enable(PACKAGE, default_set=True, handle_error=raise_error)
