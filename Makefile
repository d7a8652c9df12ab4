# Two entry points: `make demo` and `make test`. Both create .venv and install on first use.
PYTHON ?= python3
VENV ?= .venv
# The torch build to install. 2.13.0 matches the CPU wheel kept on this project's machines;
# override for another build, e.g. `make test TORCH_SPEC='torch==2.13.0' ` or a CUDA wheel index.
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo_output

.PHONY: demo test install clean bench-smoke

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[test]" "$(TORCH_SPEC)"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

# One small row of each benchmark, held against its results file (about 5 minutes; not part of `make test`), with one
# thread as the results files were made (torch's sums depend on the thread count).
bench-smoke: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/smoke.py

demo: $(STAMP)
	DEMO_OUT=$(DEMO_OUT) PATH="$(CURDIR)/$(BIN):$$PATH" bash data/run_demo.sh

clean:
	rm -rf $(VENV) $(DEMO_OUT)
