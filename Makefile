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

demo: setup
	$(BIN)/lca demo --out out/demo

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q

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
