# Oncoregistry: the two contract commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := data/demo
DEMO_DB := data/demo/registry.duckdb
DEMO_SAMPLE := $(DEMO_DIR)/sample
JOBS ?= 2

.PHONY: demo test bench lint install clean dictionary

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml pipelines/readers/_xmlscan.c | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(DEMO_SAMPLE)/manifest.json
	@# exit 1 = some records flagged (the sample's injected defects): fine; 2 = a file unreadable: stop
	$(BIN)/registry ingest $(DEMO_SAMPLE)/naaccr --db $(DEMO_DB) --jobs $(JOBS); test $$? -le 1
	$(BIN)/registry population load $(DEMO_SAMPLE)/population --db $(DEMO_DB)
	$(BIN)/registry info --db $(DEMO_DB)
	$(BIN)/registry users demo --db $(DEMO_DB)
	$(BIN)/registry serve --db $(DEMO_DB) --port 8501

# The demo registry is generated once; the same seed always gives the same files.
$(DEMO_SAMPLE)/manifest.json: $(STAMP)
	$(BIN)/registry sample --preset demo --out $(DEMO_SAMPLE)

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

bench: $(STAMP)
	$(BIN)/python bench/ingest_bench.py --tumors 100000
	$(BIN)/python bench/ingest_bench.py --tumors 1000000 --repeat 1
	$(BIN)/python bench/sample_bench.py --tumors 100000
	$(BIN)/python bench/multiple_primaries_bench.py
	$(BIN)/python bench/relsurv_bench.py
	$(BIN)/python bench/stats_bench.py --tumors 5000000
	$(BIN)/python bench/dashboard_bench.py --tumors 1000000
	$(BIN)/python bench/edits_bench.py --tumors 1000000
	$(BIN)/python bench/cohort_bench.py --tumors 1000000
	$(BIN)/python bench/linkage_bench.py --tumors 150000 1000000
	$(BIN)/python bench/cohort_export_bench.py --tumors 100000

lint: $(STAMP)
	$(BIN)/ruff check registry pipelines dashboard sample_data registry_cli tests bench scripts
	$(BIN)/mypy

dictionary: $(STAMP)
	$(BIN)/python scripts/build_naaccr_dictionary.py

clean:
	rm -rf $(VENV) build *.egg-info data/demo bench/.cache
