# The two commands: `make run` and `make test`. Everything they need is set up here.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum setup.cfg | cut -d' ' -f1)
PORT   ?= 5000
export PORT

.PHONY: run test test-sqlite test-postgres bench install browser diagram messages translations clean

$(STAMP): setup.cfg
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP) browser

## Debian's chromium for the browser tests (tests/browser), and the CJK fonts their screenshots need to be
## readable: installed with apt-get when missing and we are root (apt-get update only if the install fails).
## Nothing downloads a browser build. Without chromium the browser tests skip locally and FAIL in CI (CI=true).
CHROMIUM ?= /usr/bin/chromium
COMPLIANCE_TEST_CHROMIUM ?= $(CHROMIUM)
export COMPLIANCE_TEST_CHROMIUM
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -q
browser:
	@test -x $(CHROMIUM) || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { $(APT_INSTALL) chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && $(APT_INSTALL) chromium >/dev/null; }; }; } || \
	  echo "chromium not installed ($(CHROMIUM) missing): the browser tests will skip (and fail when CI=true)"
	@fc-list 2>/dev/null | grep -q "Noto Sans CJK" || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  $(APT_INSTALL) fonts-noto-cjk >/dev/null 2>&1; } || \
	  echo "fonts-noto-cjk not installed: the browser screenshots will show boxes for Chinese text"

## Set up, migrate the SQLite database, load demo data when empty, serve on http://127.0.0.1:$(PORT)
## The letters' QR codes and verification addresses point where the demo serves (unless set otherwise).
run: export COMPLIANCE_PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)
run: $(STAMP)
	$(VENV)/bin/compliance db upgrade
	$(VENV)/bin/compliance demo-data
	$(VENV)/bin/compliance demo-logins
	@# One scheduler beside the web server, never in a gunicorn worker; it stops when this recipe ends.
	$(VENV)/bin/compliance scheduler --stop-with-parent & trap 'kill $$! 2>/dev/null' EXIT INT TERM; \
	  $(VENV)/bin/compliance serve --port $(PORT)

## The whole suite on SQLite, then the database tests on PostgreSQL when COMPLIANCE_TEST_DATABASE_URL is set.
## The SQLite pass includes the browser tests (chromium set up first; screenshots in test-output/screenshots/).
test: $(STAMP)
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$COMPLIANCE_TEST_DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgres; \
	 else echo "COMPLIANCE_TEST_DATABASE_URL not set: PostgreSQL pass not run"; fi

test-sqlite: $(STAMP) browser
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

## The pages' English (docs/i18n.md). `make messages`: extract every marked string into messages.pot and add the new
## ones to the English catalogue (then translate them there); `make translations`: compile the catalogue to the .mo
## the app reads (committed; tests/compliance/test_i18n.py fails when .pot, .po and .mo disagree with the sources).
## The keywords: _l = lazy_gettext, _lp = lazy_pgettext (context first); _, gettext, pgettext and N_ are Babel's own.
BABEL_KEYWORDS := -k _l -k _lp:1c,2
TRANSLATIONS := compliance/translations
messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg $(BABEL_KEYWORDS) --add-location=file --sort-output --no-wrap \
	  --omit-header -o $(TRANSLATIONS)/messages.pot .
	$(VENV)/bin/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-wrap --no-fuzzy-matching \
	  --ignore-obsolete
	$(MAKE) --no-print-directory translations

translations: $(STAMP)
	$(VENV)/bin/pybabel compile -d $(TRANSLATIONS) --statistics

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
