#!/usr/bin/env bash
# The whole test suite, in stages, with a timing summary at the end (also on failure):
#   install      the environment (scripts/setup_env.sh --browser)
#   unit         tests of the utils package and of the notebooks' conventions
#   portability  the pinned numeric environment neutralises imitated host differences,
#                executing a committed notebook again writes the same file, and the
#                executor's timeouts stop a stalled cell or notebook
#   standalone   each notebook copied alone into an empty folder runs from a wheel of utils
#                in a throwaway environment, as on Colab; `make lab` serves a notebook whose
#                setup and checker cells run in a live kernel
#   grading      `python -m utils.grade` on a synthetic class made from the graded notebook:
#                every row of the gradebook as expected, within two minutes
#   nbval        every notebook re-executed and compared with its committed outputs
#   build    the book from an empty _build/ with -W (warnings are errors)
#   browser  every page of the built site in headless Chromium, offline
# Every stage has a time limit (seconds, below): a stage that runs past it is interrupted,
# pytest names the test (for nbval: the notebook cell) that was running, and the run fails.
# Inside the stages, each notebook cell has its own limit (nbval: --nbval-cell-timeout).
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
    printf '  %-12s %7.1f s   %s\n' "${names[$i]}" "${times[$i]}" "${results[$i]}"
    total=$(awk -v a="$total" -v b="${times[$i]}" 'BEGIN{print a+b}')
  done
  printf '  %-12s %7.1f s\n' total "$total"
  echo
  echo "tests: $passed passed, $failed failed"
}
stage() {  # stage NAME LIMIT_SECONDS COMMAND...
  local name=$1 limit=$2; shift 2
  echo
  echo "==================== $name (limit ${limit} s) ===================="
  local start=$(date +%s.%N)
  timeout --signal=INT --kill-after=30 "$limit" "$@" 2>&1 | tee "$stage_log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" = 124 ] || [ "$rc" = 137 ] || [ "$rc" = 130 ]; then
    echo "stage '$name' ran past its limit of $limit s and was stopped (see the last test named above)" >&2
  fi
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
stage install     900 bash scripts/setup_env.sh --browser
stage unit        600 $PYTEST tests -m "not book and not site and not portability and not standalone and not grading" -q
stage portability 300 $PYTEST tests -m portability -q
stage standalone  300 $PYTEST tests -m standalone -q
stage grading     300 $PYTEST tests -m grading -q
# nbval's kernels inherit the numeric environment from the repository's conftest.py
stage nbval      1200 $PYTEST --nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg \
                          --nbval-cell-timeout=300 --nbval-kernel-startup-timeout=60 \
                          -p no:cacheprovider chapters -q
stage build       600 $PYTEST tests/test_book.py -q
stage browser     600 $PYTEST tests/test_site.py -q
summary
