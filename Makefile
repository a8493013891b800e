# The two set-up commands (see README): `make book` and `make test`.
# Both create .venv, install everything from requirements.txt and the package itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# CI executes every notebook fresh: jupyter-cache does not notice edits to gigagan/.
BOOK_EXECUTE := $(if $(filter true,$(CI)),force,cache)

.PHONY: install test test-book book book-fresh clean bench help

help:
	@echo "make test    install into .venv and run the test suite (CPU, offline)"
	@echo "make book    install into .venv and build the book into _build/html"
	@echo "make test-book  check the built site (links, anchors, alt text, screenshots)"
	@echo "make bench   run the benchmarks (prints tables, writes benchmarks/results/)"

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
	$(PY) benchmarks/bench_sampling.py

clean:
	rm -rf _build
