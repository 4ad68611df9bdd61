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

test: install
	$(PY) -m ruff check spacy_albert tests bench
	$(PY) -m pytest -q

lint: install
	$(PY) -m ruff check spacy_albert tests bench

clean:
	rm -rf training metrics models packages corpus/*.spacy
