# Two commands do everything from a fresh clone (see README.md):
#   make book   build the site into _build/html, executing every notebook first
#   make test   the whole test suite (unit, nbval, book build, browser), with a timing summary
PY := .venv/bin/python

.PHONY: book test execute build env clean

book: env execute build
	@echo "The book is built: open $(CURDIR)/_build/html/index.html"

env:
	@bash scripts/setup_env.sh

execute: env
	$(PY) scripts/execute_notebooks.py

build: env
	rm -rf _build/html _build/.doctrees
	.venv/bin/jupyter-book build . -W -n --keep-going

test:
	@bash scripts/run_tests.sh

clean:
	rm -rf _build
