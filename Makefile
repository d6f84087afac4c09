# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# PostgreSQL for the second run of the suite (this machine and CI: trust auth on 127.0.0.1)
TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: install run test test-sqlite test-postgres audit bench clean

install: $(VENV)/.installed node_modules/.package-lock.json
	tools/system_packages.sh

# bpmn-js, which the case page serves to draw diagrams (exact versions from package-lock.json)
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

## run: install, create the SQLite database with demo data, and start the main job
run: install
	$(BIN)/alertflow db upgrade
	$(BIN)/alertflow demo
	$(BIN)/alertflow serve

## test: the whole suite on SQLite and on PostgreSQL, the two halves side by side (one per core;
## each half's output is printed whole when it ends)
test: install
	tools/system_packages.sh --tests
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

test-sqlite: install
	TEST_POSTGRES_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest -q

test-postgres: install
	ALERTFLOW_TEST_DATABASE=$(TEST_POSTGRES_URL) $(BIN)/pytest -q

## audit: known vulnerabilities in the pinned dependencies (says so when it cannot reach a database)
audit: install
	$(BIN)/pip install --quiet pip-audit==2.10.1 || echo "pip-audit could not be installed: Python packages not audited"
	$(BIN)/python tools/dependency_audit.py

bench: install
	$(BIN)/python benchmarks/step_cost.py

clean:
	rm -rf $(VENV) instance .pytest_cache
