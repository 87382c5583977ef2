# Two commands do everything from a fresh clone (see README.md):
#   make book   build the site into _build/html, executing every notebook first
#   make test   the whole test suite (unit, nbval, book build, browser), with a timing summary
#   make reproduce   the lecture-length loss log (200,000 steps a row; prints its wall time) -> utils/results/
#   make benchmark   the training engine against the plain loop (benchmarks/engine.py)
#   make grade   grade a folder of submissions: make grade SUBMISSIONS=dir [ASSIGNMENT=page SEED=n]
#                (without SUBMISSIONS: a synthetic class of hw1, written to _build/grading/)
#   make lab         JupyterLab on chapters/, to work in the notebooks (prints the URL to open)
PY := .venv/bin/python

.PHONY: book test execute build env clean reproduce benchmark lab grade

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

lab: env
	@echo "Starting JupyterLab on chapters/; open the http://127.0.0.1 URL it prints below (Ctrl-C stops it)."
	.venv/bin/jupyter lab --ServerApp.root_dir=chapters $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

SUBMISSIONS ?=
ASSIGNMENT ?=
SEED ?=
grade: env
ifeq ($(SUBMISSIONS),)
	rm -rf _build/grading && $(PY) scripts/make_submissions.py _build/grading/submissions
	$(PY) -m utils.grade _build/grading/submissions --out _build/grading/gradebook.csv \
		--cell-limit 10 $(if $(SEED),--seed $(SEED))
else
	$(PY) -m utils.grade $(SUBMISSIONS) --out $(or $(OUT),gradebook.csv) \
		$(if $(ASSIGNMENT),--assignment $(ASSIGNMENT)) $(if $(SEED),--seed $(SEED))
endif

reproduce: env
	$(PY) scripts/reproduce_loss_log.py

benchmark: env
	$(PY) benchmarks/engine.py --json utils/results/engine_benchmark.json

clean:
	rm -rf _build
