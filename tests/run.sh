#!/bin/sh
# Runs every unit-test program given as an argument and prints one summary line,
# "N passed, N failed", summed over the cmocka groups. A program that crashes or
# prints no cmocka summary counts as one failure, so a broken binary can't pass.
passed=0; failed=0; skipped=0; broken=""
for t in "$@"; do
  name=$(basename "$t")
  log=$(mktemp)
  "$t" >"$log" 2>&1; rc=$?
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log" | tail -1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' "$log" | tail -1)
  s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test(s), listed below:/\1/p' "$log" | tail -1)
  p=${p:-0}; f=${f:-0}; s=${s:-0}
  if [ -z "$(grep '^\[==========\] [0-9]* test(s) run\.' "$log")" ] || { [ $rc -ne 0 ] && [ "$f" = 0 ]; }; then
    broken="$broken $name"; f=$((f + 1))
  fi
  if [ "$f" != 0 ] || [ -n "$ZP_VERBOSE" ]; then cat "$log"; fi
  printf '%-28s %3d passed, %d failed, %d skipped\n' "$name" "$p" "$f" "$s" >&2
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  rm -f "$log"
done
[ -n "$broken" ] && echo "crashed or incomplete:$broken" >&2
echo "${ZP_BUILD:-tests}: $passed passed, $failed failed, $skipped skipped"
[ -n "$ZP_BUILD" ] && echo "$passed $failed $skipped" > "$ZP_BUILD/test-counts"
[ "$failed" = 0 ]
