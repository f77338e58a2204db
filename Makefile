# kd — the two commands: `make demo` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.kd-installed

.PHONY: install demo test test-fast lint data clean

$(STAMP): setup.py requirements/runtime.txt requirements/mminstall.txt requirements/tests.txt tools/install.sh
	VENV=$(VENV) bash tools/install.sh

install:
	VENV=$(VENV) bash tools/install.sh

data: $(STAMP)
	$(PY) tools/data/prepare_digits.py

demo: $(STAMP)
	$(PY) tools/demo.py

test: $(STAMP)
	$(PY) -m pytest tests

lint: $(STAMP)
	$(VENV)/bin/ruff check kd tools tests configs examples

clean:
	rm -rf work_dirs demo_results .pytest_cache
