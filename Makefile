# Two entry points for a fresh machine: `make demo` and `make test`. Each installs what
# it needs into .venv (torch first, as the CPU wheel: a bare `torch` pulls CUDA builds).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_VERSION ?= 2.13.0
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install demo test lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==$(TORCH_VERSION)
	$(PY) -m pip install -q -e ".[test,eval]"
	touch $@

# Offline on the shipped corpus: build a tiny ALBERT, train the joint textcat+ner
# pipeline, evaluate it and show its predictions.
demo: install
	$(PY) -m spacy project run all

# One torch thread unless the caller sets OMP_NUM_THREADS: the tests train tiny models,
# which run faster on one thread than on two oversubscribed ones (suite: ~17 -> ~5 min
# on 2 cores). The n_process fork test re-enables the default thread count itself.
test: install
	$(PY) -m ruff check .
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) -m pytest -q

lint: install
	$(PY) -m ruff check .

clean:
	rm -rf training metrics models packages corpus/*.spacy
