# The two commands: `make run` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install locale messages migrate fixtures demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# French catalogues: .po (committed) compiled to .mo (built here, ignored by git).
locale: install
	$(BIN)/convergence i18n compile

# Every msgid of the code and templates, for translators: var/messages.pot (Babel's extraction, babel.cfg).
messages: install
	$(BIN)/convergence i18n extract

migrate: locale
	mkdir -p var
	$(BIN)/convergence db upgrade

fixtures: migrate
	$(BIN)/convergence fixtures load

demo: fixtures
	$(BIN)/convergence demo load
	$(BIN)/convergence simulate --companies 12 --seed 1

# E-mailed links (and the demo's own mails) point at the address served, unless CONVERGENCE_BASE_URL is set.
run: export CONVERGENCE_BASE_URL ?= http://$(HOST):$(PORT)
run: demo
	@echo "Serving on http://$(HOST):$(PORT) (Ctrl-C to stop; e-mailed links use $$CONVERGENCE_BASE_URL)"
	$(BIN)/convergence serve --host $(HOST) --port $(PORT)

# One pytest worker per CPU, a test file's tests in one worker (a browser file starts its live server once).
# `make test XDIST=` runs in one process.
XDIST ?= -n auto --dist loadfile
test: locale
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var
