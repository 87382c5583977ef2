#!/usr/bin/env bash
# The whole test suite, in stages, with a timing summary at the end (also on failure):
#   install  the environment (scripts/setup_env.sh --browser)
#   unit     tests of the utils package and of the notebooks' conventions
#   nbval    every notebook re-executed and compared with its committed outputs
#   build    the book from an empty _build/ with -W (warnings are errors)
#   browser  every page of the built site in headless Chromium, offline
set -uo pipefail
cd "$(dirname "$0")/.."
names=() times=() results=()
summary() {
  echo
  echo "==================== timing summary ===================="
  local total=0
  for i in "${!names[@]}"; do
    printf '  %-8s %7.1f s   %s\n' "${names[$i]}" "${times[$i]}" "${results[$i]}"
    total=$(awk -v a="$total" -v b="${times[$i]}" 'BEGIN{print a+b}')
  done
  printf '  %-8s %7.1f s\n' total "$total"
}
stage() {  # stage NAME COMMAND...
  local name=$1; shift
  echo
  echo "==================== $name ===================="
  local start=$(date +%s.%N)
  "$@"
  local rc=$?
  names+=("$name")
  times+=("$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}')")
  results+=("$([ $rc = 0 ] && echo ok || echo "FAILED (exit $rc)")")
  if [ $rc != 0 ]; then
    summary
    echo "stage '$name' failed" >&2
    exit $rc
  fi
}
PYTEST=".venv/bin/python -m pytest"
stage install bash scripts/setup_env.sh --browser
stage unit    $PYTEST tests -m "not book and not site" -q
stage nbval   $PYTEST --nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg \
                      -p no:cacheprovider chapters -q
stage build   $PYTEST tests/test_book.py -q
stage browser $PYTEST tests/test_site.py -q
summary
