#!/usr/bin/env bash
# Make the environment the book and the tests need, idempotently:
#   - system programs: graphviz's `dot` (always) and, with --browser, Debian's chromium;
#     installed with apt-get when running as root on Debian, otherwise a message says
#     exactly what to install;
#   - a virtual environment in .venv (Python 3.11) with requirements.txt installed
#     (skipped when requirements.txt and constraints.txt have not changed since);
#   - the site's browser libraries (scripts/site_assets.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
want_browser=0
[ "${1:-}" = "--browser" ] && want_browser=1

need=()
command -v dot >/dev/null || need+=(graphviz)
[ $want_browser = 1 ] && ! command -v chromium >/dev/null && need+=(chromium)
command -v npm >/dev/null || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing system packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "setup: missing system programs. Please install these packages and run again:" >&2
    echo "    ${need[*]}" >&2
    echo "  Debian/Ubuntu: sudo apt-get install ${need[*]}" >&2
    echo "  macOS (Homebrew): brew install graphviz node; use Google Chrome or Chromium for the browser test" >&2
    exit 1
  fi
fi

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "setup: the course is pinned and tested on Python 3.11; $PYTHON is $("$PYTHON" --version 2>&1)." >&2
  echo "  Install Python 3.11 or point PYTHON at it, e.g. PYTHON=/usr/bin/python3.11 make test" >&2
  exit 1
fi
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt constraints.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  echo "setup: installing requirements.txt into .venv (a few minutes the first time)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
  .venv/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
  echo "$want" > "$stamp"
else
  echo "setup: .venv is up to date"
fi
bash scripts/site_assets.sh
