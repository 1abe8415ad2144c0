# A real browser for the web UI tests (sourced by scripts/test): Debian's chromium and
# chromium-driver, driven through selenium from Python, with html5lib to parse every page
# strictly. Debian's python3-selenium and python3-html5lib are used with Debian's interpreter
# (/usr/bin/python3: a python3 found first on PATH, pyenv's say, does not see Debian's modules);
# when one of them cannot be imported there, or selenium cannot drive the installed chromedriver,
# PyPI's is installed for that interpreter instead. Nothing is started here for the whole run:
# each test starts its own headless chromium (through Tests/browser/berth_ui.py) and ends it.
# The start checks that headless chromium and chromedriver really start and render a page; a
# run where they cannot fails. Exports:
#   BERTH_TEST_PYTHON         the interpreter that imports selenium and html5lib
#   BERTH_TEST_CHROMIUM       the chromium binary
#   BERTH_TEST_CHROMEDRIVER   the chromedriver binary
services+=(browser)

start_browser() {
  need_apt chromium chromium-driver python3 python3-selenium python3-html5lib
  local python=/usr/bin/python3 root="$BERTH_TEST_ROOT/browser"
  mkdir -p "$root"
  export BERTH_TEST_PYTHON="$python"
  export BERTH_TEST_CHROMIUM=/usr/bin/chromium
  export BERTH_TEST_CHROMEDRIVER=/usr/bin/chromedriver
  [ -x "$BERTH_TEST_CHROMIUM" ] && [ -x "$BERTH_TEST_CHROMEDRIVER" ] || { log "chromium or chromedriver is missing after install"; return 1; }
  "$python" -c 'import html5lib' 2>/dev/null || browser_pip html5lib || return 1
  "$python" -c 'import selenium' 2>/dev/null || browser_pip selenium || return 1
  # The self-test starts headless chromium through chromedriver and renders a page; with a
  # selenium too old for this chromedriver, PyPI's newer one is tried once.
  if ! browser_selftest "$root"; then
    log "selenium $("$python" -c 'import selenium; print(selenium.__version__)' 2>/dev/null) could not drive $("$BERTH_TEST_CHROMEDRIVER" --version 2>/dev/null); trying PyPI's selenium"
    browser_pip --upgrade selenium && browser_selftest "$root" || return 1
  fi
}

# browser_selftest FOLDER: berth_ui.py's selftest (chromium renders and html5lib parses a page),
# its output kept in FOLDER/selftest.log and shown on failure.
browser_selftest() {
  "$BERTH_TEST_PYTHON" -B Tests/browser/berth_ui.py selftest --shots "$1" >"$1/selftest.log" 2>&1 && return 0
  tail -n 30 "$1/selftest.log" >&2
  return 1
}

# browser_pip [--upgrade] PACKAGE: PyPI's PACKAGE for Debian's interpreter (Debian marks it as
# externally managed, hence --break-system-packages; the module goes to /usr/local).
browser_pip() {
  "$BERTH_TEST_PYTHON" -m pip --version >/dev/null 2>&1 || need_apt python3-pip
  log "pip install $* (for $BERTH_TEST_PYTHON)"
  "$BERTH_TEST_PYTHON" -m pip install -q --break-system-packages "$@" || { log "could not pip install $*"; return 1; }
}
