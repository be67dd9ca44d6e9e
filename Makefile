# Everything runs from the project venv, so `make test` works on a fresh clone.

# python3.11 is what pyproject pins; plain python3 is a fallback for hosts that only have that name.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv media browser test ui demo bench eval clean distclean

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The stamp makes reinstalling happen only when pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[test]'
	touch $@

media: venv
	$(BIN)/facegraft media fetch

# The UI tests drive the real page in Debian's Chromium (never a browser playwright downloads).
CHROMIUM := /usr/bin/chromium
browser: $(CHROMIUM)

# Debian's packages need root: as root directly (CI), otherwise through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver

test: venv media browser
	$(BIN)/python -m pytest -q tests

ui: venv
	$(BIN)/facegraft ui

demo: venv media
	$(BIN)/facegraft demo

bench: venv
	$(BIN)/facegraft bench

# Swap the sample media and score the result (the README's quality table comes from here).
# Bare sample names are looked up in the media cache; --consent: the samples are public test media.
eval: venv media
	$(BIN)/facegraft eval --run --consent --source astronaut.png --target single_face.mp4 \
		--output out/eval/swap.mp4 --report out/eval/report.html --json out/eval/metrics.json

# Keeps the venv: rebuilding it means downloading mediapipe again. distclean removes it too.
clean:
	rm -rf build dist out .pytest_cache src/*.egg-info
	find src tests -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
