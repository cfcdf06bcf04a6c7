# refactor-async: `make demo` runs the main job on a bundled example,
# `make test` runs every test. Both install what they need by themselves.

CARGO  ?= cargo
PYTHON ?= python3
VENV   ?= .venv
PY     := $(abspath $(VENV))/bin/python

.PHONY: build release test lint labels demo bench venv clean

build:
	$(CARGO) build

release:
	$(CARGO) build --release

# The Python tools the tests run for real (pytest, pytest-asyncio, mypy, httpx, ruff).
$(VENV)/.installed: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

venv: $(VENV)/.installed

test: venv lint
	PATH="$(abspath $(VENV))/bin:$$PATH" REFACTOR_ASYNC_PYTHON="$(PY)" $(CARGO) test --all-targets

# Formatting and clippy, warnings as errors: part of `make test`.
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --quiet -- -D warnings

# Precision and recall of the analysis against the hand labels of
# tests/labels/corpus.toml, as a table. The corpus: REFACTOR_ASYNC_CORPUS, else
# ../shared/corpus.
labels:
	$(CARGO) test --test labels -- --nocapture

# The examples' `make test` and `make typecheck` need pytest and mypy: the venv's
# Python comes first on PATH.
demo: venv release
	PATH="$(abspath $(VENV))/bin:$$PATH" examples/demo.sh target/release/refactor-async

bench: venv release
	PATH="$(abspath $(VENV))/bin:$$PATH" $(CARGO) bench --bench analyze
	$(CARGO) bench --bench llm
	$(CARGO) bench --bench daemon

clean:
	$(CARGO) clean
	rm -rf $(VENV)
