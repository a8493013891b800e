# The two set-up commands (see README): `make book` and `make test`.
# Both create .venv, install everything from requirements.txt and the package itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# CI executes every notebook fresh: jupyter-cache does not notice edits to gigagan/.
BOOK_EXECUTE := $(if $(filter true,$(CI)),force,cache)

.PHONY: install test test-book book book-fresh clean bench bench-venv help

help:
	@echo "make test    install into .venv and run the test suite (CPU, offline)"
	@echo "make book    install into .venv and build the book into _build/html"
	@echo "make test-book  check the built site (links, anchors, alt text, screenshots)"
	@echo "make bench   run the benchmarks (prints tables, writes benchmarks/results/)"
	@echo "make bench-venv  install lucidrains' gigagan-pytorch 0.3.0 in its own venv (~5.6 GB) for bench_compare"

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

book: $(STAMP)
	BOOK_EXECUTE=$(BOOK_EXECUTE) $(PY) tools/build_book.py

book-fresh: $(STAMP)
	BOOK_EXECUTE=force $(PY) tools/build_book.py

test-book: $(STAMP)
	REQUIRE_SITE=1 $(PY) -m pytest -m book

bench: $(STAMP)
	$(PY) benchmarks/bench_data.py
	$(PY) benchmarks/bench_sampling.py
	$(PY) benchmarks/bench_compare.py
	$(PY) benchmarks/bench_tiny.py

# gigagan-pytorch needs torchvision, which does not import beside our torch==2.13.0 CPU wheel;
# torch 2.14.1 + torchvision 0.29.1 (x86_64) is the pair this machine's pip takes from disk.
LUCID_VENV := benchmarks/.venv-gigagan-pytorch
bench-venv: $(LUCID_VENV)/.installed
$(LUCID_VENV)/.installed:
	$(PYTHON) -m venv $(LUCID_VENV)
	$(LUCID_VENV)/bin/python -m pip install torch==2.14.1 torchvision==0.29.1 gigagan-pytorch==0.3.0
	touch $@

clean:
	rm -rf _build
