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
passed=0 failed=0
stage_log=$(mktemp)
trap 'rm -f "$stage_log"' EXIT
summary() {
  echo
  echo "==================== timing summary ===================="
  local total=0
  for i in "${!names[@]}"; do
    printf '  %-8s %7.1f s   %s\n' "${names[$i]}" "${times[$i]}" "${results[$i]}"
    total=$(awk -v a="$total" -v b="${times[$i]}" 'BEGIN{print a+b}')
  done
  printf '  %-8s %7.1f s\n' total "$total"
  echo
  echo "tests: $passed passed, $failed failed"
}
stage() {  # stage NAME COMMAND...
  local name=$1; shift
  echo
  echo "==================== $name ===================="
  local start=$(date +%s.%N)
  "$@" 2>&1 | tee "$stage_log"
  local rc=${PIPESTATUS[0]}
  # add up pytest's closing line ("12 passed, 1 failed in 3.2s") for the final count
  local line
  line=$(grep -E '^[=[:space:]]*[0-9]+ (passed|failed)' "$stage_log" | tail -n 1)
  passed=$((passed + $(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)))
  failed=$((failed + $(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 0)))
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
