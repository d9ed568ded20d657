# The two commands: `make run` and `make test`. Everything they need is set up here.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum setup.cfg | cut -d' ' -f1)
PORT   ?= 5000
export PORT

.PHONY: run test test-sqlite test-postgres bench install diagram clean

$(STAMP): setup.cfg
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

## Set up, migrate the SQLite database, load demo data when empty, serve on http://127.0.0.1:$(PORT)
run: $(STAMP)
	$(VENV)/bin/compliance db upgrade
	$(VENV)/bin/compliance demo-data
	$(VENV)/bin/compliance demo-logins
	$(VENV)/bin/compliance serve --port $(PORT)

## The whole suite on SQLite, then the database tests on PostgreSQL when COMPLIANCE_TEST_DATABASE_URL is set
test: $(STAMP)
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$COMPLIANCE_TEST_DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgres; \
	 else echo "COMPLIANCE_TEST_DATABASE_URL not set: PostgreSQL pass not run"; fi

test-sqlite: $(STAMP)
	@echo "=== test suite on SQLite ==="
	COMPLIANCE_TEST_BACKEND=sqlite $(PY) -m pytest $(PYTEST_ARGS)

test-postgres: $(STAMP)
	@echo "=== test suite on PostgreSQL ($$COMPLIANCE_TEST_DATABASE_URL) ==="
	COMPLIANCE_TEST_BACKEND=postgresql $(PY) -m pytest -m "db or postgres" $(PYTEST_ARGS)

## Benchmarks: `make bench`, or `make bench ONLY=letters.` for the ones whose name starts with it
bench: $(STAMP)
	@# The notice benchmarks compare with the naive path: system Noto CJK through fontconfig (Debian's fonts-noto-cjk).
	@fc-list 2>/dev/null | grep -q "Noto Serif CJK" || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-noto-cjk >/dev/null; } || \
	  echo "fonts-noto-cjk not installed: the naive-path reference will be null"
	$(PY) -m bench $(if $(ONLY),--only $(ONLY),)

diagram: $(STAMP)
	$(VENV)/bin/compliance diagram

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
