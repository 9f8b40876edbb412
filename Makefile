# Trident: `make demo` trains, evaluates and exports all four tasks on built-in data;
# `make test` runs the tests.
# Both create .venv and install Trident with pinned dependencies first (once: a stamp file
# records the install, so running them again installs nothing).
# TensorFlow comes through an extra: EXTRA=cpu (default, tensorflow-cpu) or EXTRA=gpu
# (tensorflow[and-cuda]). Switching removes the other wheel; the two never coexist.

PYTHON ?= python3
EXTRA ?= cpu
VENV := .venv
BIN := $(VENV)/bin
OTHER_TF := $(if $(filter gpu,$(EXTRA)),tensorflow-cpu,tensorflow)
INSTALLED := $(VENV)/.installed-$(EXTRA)
TEST_INSTALLED := $(VENV)/.installed-$(EXTRA)-test
CLS := runs/classification-digits-compact
DET := runs/detection-shapes-compact
SEG := runs/segmentation-shapes-compact
INS := runs/instance-shapes-compact

export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install demo test test-fast clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip uninstall --quiet --yes $(OTHER_TF) 2>/dev/null || true
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRA)]"
	touch $@

$(TEST_INSTALLED): $(INSTALLED)
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRA),test]"
	touch $@

install: $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/trident classification train --config tasks/classification/configs/digits.yaml --restart --verbose 2
	$(BIN)/trident classification evaluate --run $(CLS)
	$(BIN)/trident classification export --run $(CLS)
	$(BIN)/trident detection train --config tasks/detection/configs/shapes.yaml --epochs 5 --restart --verbose 2
	$(BIN)/trident detection evaluate --run $(DET)
	$(BIN)/trident detection export --run $(DET)
	$(BIN)/trident segmentation train --config tasks/segmentation/configs/shapes.yaml --epochs 7 --restart --verbose 2
	$(BIN)/trident segmentation evaluate --run $(SEG)
	$(BIN)/trident segmentation export --run $(SEG)
	$(BIN)/trident instance train --config tasks/instance/configs/shapes.yaml --epochs 5 --restart --verbose 2
	$(BIN)/trident instance evaluate --run $(INS)
	$(BIN)/trident instance export --run $(INS)
	@echo
	@echo "Reports (test split), open in a browser:"
	@echo "  classification: $(CURDIR)/$(CLS)/evaluation/digits-test/report.html"
	@echo "  detection:      $(CURDIR)/$(DET)/evaluation/shapes-test/report.html"
	@echo "  segmentation:   $(CURDIR)/$(SEG)/evaluation/shapes-test/report.html"
	@echo "  instance:       $(CURDIR)/$(INS)/evaluation/shapes-test/report.html"
	@echo "Exported models: $(CURDIR)/saved_models/"

# Two test processes (pytest-xdist): much of a tiny test's time is single-threaded graph tracing,
# so two of them share the 2 cores well (measured: 780 s in one process, 474 s in two). The `large` tests
# run first (tests/conftest.py) and a process that runs out of tests takes some of the other's queue
# (`--dist worksteal`), so neither waits at the end for the other's long tests: 404 tests, 1,255 s of test
# time, 668 s on the clock; the same order handed out in fixed shares took 921 s.
test: $(TEST_INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 2 --dist worksteal tests

# The inner loop of development: lint and every test but the `large` ones (training, exports, processes).
test-fast: $(TEST_INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 2 --dist worksteal -m "not large" tests

clean:
	rm -rf $(VENV) runs build *.egg-info
