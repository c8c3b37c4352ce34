# louzhang — `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint fmt bench clean mutation

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/louzhang run

test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto --dist load $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy config estate surveys notifications bot
	$(BIN)/lint-imports --no-cache

fmt: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# Mutation testing of the core modules listed in pyproject.toml ([tool.mutmut]); the last line
# is the score. mutmut 3 makes the mutants; tools/mutation_run.py judges each in a fork of one
# pytest session. `tools/mutation.py -v` lists the survivors; `mutmut show NAME` shows one.
mutation: setup
	rm -rf mutants
	$(BIN)/python tools/mutation_run.py > mutation.log 2>&1 || (tail -n 20 mutation.log; exit 1)
	grep '^mutation: ' mutation.log | tail -n 4
	$(BIN)/python tools/mutation.py

clean:
	rm -rf $(VENV) data/*.sqlite3* mutants mutation.log

# After changing a model: write the next migration into config/migrations/ and commit it.
migrations: setup
	$(BIN)/python -m bot db makemigrations
