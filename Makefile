# Containers & Kubernetes from Scratch — the two commands learners need are
# `make lab` and `make test`; the rest are instructor targets (see grader/README.md).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# JupyterLab refuses to run as root unless asked; in a container or VM root is normal.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: lab test test-notebooks venv lint release check-release autograde feedback grades bench doctor clean

# Create the virtual environment and install the course once; re-run only when
# pyproject.toml changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[course,test]"
	touch $(STAMP)

venv: $(STAMP)

## make lab: JupyterLab on course/, the start-here notebook open.
lab: $(STAMP)
	$(BIN)/python -m fromscratch doctor --short || true
	cd course && ../$(BIN)/jupyter lab 00-start-here/start-here.ipynb \
	    --ServerApp.root_dir=. --ip=127.0.0.1 $(ALLOW_ROOT)

## make test: library, notebooks, grading pipeline; non-zero on any failure.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m fromscratch doctor
	$(BIN)/python -m pytest tests
	$(MAKE) test-notebooks
	$(MAKE) test-browser
	$(MAKE) test-binder

## nbval (lax) over every lesson in course/ and every solution notebook, each in a fresh kernel.
test-notebooks: $(STAMP)
	rm -rf build/notebooks
	$(BIN)/python -m grader sources build/notebooks
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider \
	    $$($(BIN)/python -m grader lessons) build/notebooks/source/*/*.ipynb

lint: $(STAMP)
	$(BIN)/ruff check .

## Instructor targets (nbgrader from the command line; see grader/README.md).
release: $(STAMP)
	$(BIN)/python -m grader release

check-release: $(STAMP)
	$(BIN)/python -m grader check

autograde: $(STAMP)
	$(BIN)/python -m grader autograde $(ASSIGNMENT)

feedback: $(STAMP)
	$(BIN)/python -m grader feedback $(ASSIGNMENT)

grades: $(STAMP)
	$(BIN)/python -m grader grades

bench: $(STAMP)
	$(BIN)/python -m bench

doctor: $(STAMP)
	$(BIN)/python -m fromscratch doctor

clean:
	rm -rf build .pytest_cache .ruff_cache

## Classroom: import a roster, collect submissions (see grader/README.md).
.PHONY: roster collect zip-collect test-browser test-binder
roster: $(STAMP)
	$(BIN)/python -m grader roster $(ROSTER)

collect: $(STAMP)
	$(BIN)/python -m grader collect $(DIR)

zip-collect: $(STAMP)
	$(BIN)/python -m grader zip-collect $(ZIP) $(ASSIGNMENT)

## Real JupyterLab in headless Chromium (a few minutes; the last steps of make test).
test-browser: $(STAMP)
	FROMSCRATCH_BROWSER_TESTS=1 $(BIN)/python -m pytest tests/browser -p no:cacheprovider

## Replay repo2docker's build as an unprivileged user and run every notebook (slow).
test-binder: $(STAMP)
	FROMSCRATCH_BINDER_TESTS=1 $(BIN)/python -m pytest tests/browser/test_binder_replay.py -p no:cacheprovider -s
