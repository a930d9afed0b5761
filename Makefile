# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
# Everything installs pinned into .venv from requirements.lock; the Anny body model's cache
# is built once into .cache/anny (about 40 s), never in a user's first click or a timed test.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export ANNY_CACHE_DIR := $(CURDIR)/.cache/anny
export WARP_CACHE_PATH := $(CURDIR)/.cache/warp
WARM := $(ANNY_CACHE_DIR)/.lca-warm

.PHONY: setup demo test lint bench clean

setup: $(WARM)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is needed (Blender 4.2-5.0 embed it); set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

$(WARM): $(STAMP)
	$(BIN)/lca warm
	@touch $@

# `make demo PHOTO=path/to/you.jpg` creates the avatar from your photo instead.
demo: setup
	$(BIN)/lca demo --out out/demo $(if $(PHOTO),--photo "$(PHOTO)")

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q
	$(MAKE) --no-print-directory test-blender52
	$(MAKE) --no-print-directory test-blender53
	$(MAKE) --no-print-directory test-blender42

bench: setup
	$(BIN)/lca bench deform
	$(BIN)/lca bench render --repeats 3
	$(BIN)/lca bench io

clean:
	rm -rf $(VENV) .cache out dist

# The Blender extension zip, dist/lca_avatar-<version>.zip, built and validated with the build
# script bundled in the bpy module (see README.md, "Blender").
.PHONY: extension
extension: $(STAMP)
	$(BIN)/python -m lca_addon.build_extension --output-dir dist

# The pure wheels the extension bundles (blender_manifest.toml lists them), fetched at install
# time into wheels/, so that building the zip later (make extension, the tests) needs no network.
.PHONY: wheels
setup: wheels
wheels: $(STAMP)
	$(BIN)/python -m lca_addon.build_extension --fetch-wheels

# Blender 5.1+ embeds Python 3.13: a second, small venv (.venv313: bpy 5.2 from
# requirements-blender52.lock, no torch) installs the extension zip into Blender 5.2 and checks
# that it loads and says in one sentence what is missing. `make test` runs it after pytest.
PYTHON313 ?= $(shell for p in python3.13 "$${PYENV_ROOT:-$$HOME/.pyenv}"/versions/3.13*/bin/python3.13 /usr/local/bin/python3.13 /usr/bin/python3.13; do "$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1 && { command -v "$$p"; break; }; done)
VENV313 := .venv313
STAMP313 := $(VENV313)/.installed

.PHONY: test-blender52 clean-blender52
$(STAMP313): requirements-blender52.lock
	@py="$(PYTHON313)"; \
	if [ -z "$$py" ] || ! "$$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))'; then \
	  echo "Python 3.13 was not found (Blender 5.1+ embed it; the bpy 5.2 tests need it): install it (pyenv install 3.13) or set PYTHON313=/path/to/python3.13" >&2; exit 1; \
	fi; \
	echo "$$py -m venv $(VENV313)"; "$$py" -m venv $(VENV313)
	$(VENV313)/bin/pip install --quiet --disable-pip-version-check -r requirements-blender52.lock
	@touch $@

test-blender52: $(STAMP313) extension
	$(VENV313)/bin/python -m pytest -q tests/blender52

clean: clean-blender52
clean-blender52:
	rm -rf $(VENV313)

# Blender 5.3 draws Gaussian splats natively: a fourth venv (.venv53: bpy 5.3 from
# requirements-blender53.lock, Python 3.13, no torch) runs tests/blender53: the avatar as a
# GAUSSIAN_SPLAT point cloud driven by Geometry Nodes, checked against core.deform and
# `lca render`, whose reference values come from .venv (torch) in a subprocess. `make test`
# runs it after test-blender52.
VENV53 := .venv53
STAMP53 := $(VENV53)/.installed

.PHONY: test-blender53 clean-blender53
$(STAMP53): requirements-blender53.lock
	@py="$(PYTHON313)"; \
	if [ -z "$$py" ] || ! "$$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))'; then \
	  echo "Python 3.13 was not found (Blender 5.1+ embed it; the bpy 5.3 tests need it): install it (pyenv install 3.13) or set PYTHON313=/path/to/python3.13" >&2; exit 1; \
	fi; \
	echo "$$py -m venv $(VENV53)"; "$$py" -m venv $(VENV53)
	$(VENV53)/bin/pip install --quiet --disable-pip-version-check -r requirements-blender53.lock
	@touch $@

test-blender53: $(STAMP53) setup
	$(VENV53)/bin/python -m pytest -q tests/blender53

clean: clean-blender53
clean-blender53:
	rm -rf $(VENV53)

# Blender 4.2 LTS embeds Python 3.11 too: a third venv (.venv42: requirements-blender42.lock,
# the runtime of requirements.lock with bpy 4.2.23, plus OpenImageIO to read EXRs back, which
# bpy 4.2 does not bundle; and this project, editable, for the `lca blender` entry point)
# runs the whole tests/addon suite on 4.2 (~1 min to install, ~1 min to run). `make test`
# runs it after test-blender52.
VENV42 := .venv42
STAMP42 := $(VENV42)/.installed

.PHONY: test-blender42 clean-blender42
$(STAMP42): requirements-blender42.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is needed (Blender 4.2 embeds it); set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV42)
	$(VENV42)/bin/pip install --quiet --disable-pip-version-check -r requirements-blender42.lock
	$(VENV42)/bin/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

test-blender42: $(STAMP42) setup
	$(VENV42)/bin/python -m pytest -q tests/addon

clean: clean-blender42
clean-blender42:
	rm -rf $(VENV42)
