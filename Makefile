# `make run`: install (idempotent) and run the main job. `make test`: install and run lint + tests.
# `make docs`: install and build the documentation site (mkdocs.yml, docs/) into site/, failing on any warning.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install run test lint docs bench mutants listing
install:
	bash scripts/install.sh

run: install
	$(PY) -m iabench run --suite faithfulness

lint: install
	$(VENV)/bin/ruff check .

test: lint
	IABENCH_BROWSER=1 bash scripts/install.sh
	OMP_NUM_THREADS=1 $(PY) -m pytest -q

docs: install
	$(VENV)/bin/mkdocs build --strict

# `iabench list`'s declaration (iabench/listing.json), written again after a plugin, a suite or the catalog changes
listing: install
	$(PY) -m iabench.listing

bench: install
	$(PY) benchmarks/bench_train.py
	$(PY) benchmarks/bench_explainers.py
	$(PY) benchmarks/bench_metrics.py
	$(PY) benchmarks/bench_substrates.py
	$(PY) benchmarks/bench_run.py
	$(PY) benchmarks/bench_startup.py

# mutation testing of the core numeric modules (slow: see docs/development.md); OUT=reports/mutation
mutants: install
	$(VENV)/bin/python -m pip install -q -e ".[mutation]"
	$(PY) scripts/mutants.py $(if $(ONLY),--only $(ONLY),) $(if $(SAMPLE),--sample $(SAMPLE),) $(if $(RECHECK),--recheck,)
