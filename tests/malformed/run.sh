#!/bin/sh
# The malformed-input catalogue (issue 17): generates every case with
# make_cases.py (configs, ONNX files, IDX, JPEG/PNG images, labels CSVs, .npy,
# plugins), runs `harness run` on each and checks that
#   1. the exit code is the documented one (the case's `exit`: 2 for a config
#      or plugin error, 1 for a bad model or data file), never a crash or a
#      timeout (signal, >= 124),
#   2. the error message names the bad file (the case's `expect` text),
#   3. no sanitizer report appears (AddressSanitizer, LeakSanitizer, UBSan),
#   4. --out is exactly as it was, for three kinds of --out:
#        new:   a path that does not exist must still not exist;
#        empty: an existing empty folder must stay empty;
#        force: a finished run folder (of the valid control config), run with
#               --force, keeps every file and checksum (list + sha256 before/after).
# Prints one PASS/FAIL line per case and a summary line; exits 1 if any failed.
#
# Usage: tests/malformed/run.sh [HARNESS]      (default $ZP_HARNESS or bin/harness)
#        ZP_MALFORMED_ONLY=PATTERN runs the cases whose name contains PATTERN.
#        ZP_MALFORMED_EVERY=K runs every K-th case (make test's sanitizer pass: the
#        whole catalogue takes ~12 min under ASan, every 4th case ~3 min).
#        ZP_MALFORMED_KEEP=1 keeps the work folder (printed at the end).
#        ZP_MALFORMED_TIMEOUT=S limits each run (default 30 s; a hang fails the case).
set -u
here=$(cd "$(dirname "$0")" && pwd)
harness=${1:-${ZP_HARNESS:-bin/harness}}
case $harness in /*) ;; *) harness=$(pwd)/$harness ;; esac
[ -x "$harness" ] || { echo "malformed: no harness at $harness (build it first)" >&2; exit 1; }
tmo=${ZP_MALFORMED_TIMEOUT:-30}
W=$(mktemp -d "${TMPDIR:-/tmp}/zp-malformed-XXXXXX")
cleanup() { [ -n "${ZP_MALFORMED_KEEP:-}" ] || rm -rf "$W"; }
trap cleanup EXIT

cc -std=c11 -O1 -o "$W/mkimg" "$here/mkimg.c" -ljpeg -lpng || { echo "malformed: cannot build mkimg" >&2; exit 1; }
total=$(python3 "$here/make_cases.py" "$W" "$W/mkimg") || { echo "malformed: case generation failed" >&2; exit 1; }

# Lists every file with its checksum (and every folder), to compare --out.
snapshot() {
  if [ -e "$1" ]; then
    (cd "$1" && find . -print | LC_ALL=C sort | while IFS= read -r f; do
       if [ -f "$f" ]; then printf '%s %s\n' "$(sha256sum < "$f" | cut -c1-64)" "$f"; else printf 'dir %s\n' "$f"; fi
     done)
  else
    echo "(absent)"
  fi
}

run() { # run CONFIG OUT LOG [FLAGS]: exit code of the harness, with a timeout
  cfg=$1; out=$2; log=$3; shift 3
  timeout -k 5 "$tmo" "$harness" run "$cfg" --out "$out" --no-plots --quiet --threads 1 "$@" \
    </dev/null >"$log" 2>&1
}

# The control run: the same configs with nothing wrong must succeed, or every
# check below would be meaningless.
for c in config images; do
  if ! run "$W/control/$c.json" "$W/control_$c" "$W/control_$c.log"; then
    echo "malformed: the valid control config ($c.json) fails:" >&2
    tail -20 "$W/control_$c.log" >&2
    exit 1
  fi
done
finished="$W/control_config"

pass=0; fail=0; failed=""; idx=0; ran=0
for d in "$W"/cases/*/; do
  idx=$((idx + 1))
  [ "${ZP_MALFORMED_EVERY:-1}" -gt 1 ] && [ $(( (idx - 1) % ZP_MALFORMED_EVERY )) -ne 0 ] && continue
  d=${d%/}; name=$(basename "$d")
  [ -n "${ZP_MALFORMED_ONLY:-}" ] && case $name in *"$ZP_MALFORMED_ONLY"*) ;; *) continue ;; esac
  cfg="$d/config.json"
  [ -f "$d/config_path" ] && cfg=$(cat "$d/config_path")
  expect=$(cat "$d/expect")
  want_rc=$(cat "$d/exit")
  why=""
  for kind in new empty force; do
    out="$d/out_$kind"; flags=""
    case $kind in
      new) ;;
      empty) mkdir -p "$out" ;;
      force) cp -a "$finished" "$out"; flags=--force ;;
    esac
    before=$(snapshot "$out")
    run "$cfg" "$out" "$d/log_$kind" $flags; rc=$?
    after=$(snapshot "$out")
    if [ $rc -eq 0 ]; then why="$why; $kind: exit 0"
    elif [ $rc -ge 124 ]; then why="$why; $kind: exit $rc (crash, signal or timeout after ${tmo}s)"
    elif [ $rc -ne "$want_rc" ]; then why="$why; $kind: exit $rc, documented $want_rc"; fi
    if grep -q 'AddressSanitizer\|LeakSanitizer\|runtime error:\|UndefinedBehaviorSanitizer' "$d/log_$kind"; then
      why="$why; $kind: sanitizer report"
    fi
    [ $rc -ne 0 ] && ! grep -qF -- "$expect" "$d/log_$kind" && why="$why; $kind: message does not name $(basename "$expect")"
    [ "$before" = "$after" ] || why="$why; $kind: --out changed"
  done
  msg=$(grep -v '^$' "$d/log_new" | head -1 | cut -c1-220)
  if [ -z "$why" ]; then
    pass=$((pass + 1)); echo "PASS $name: $msg"
  else
    fail=$((fail + 1)); failed="$failed $name"; echo "FAIL $name${why#;} | $msg"
  fi
done
[ -n "${ZP_MALFORMED_KEEP:-}" ] && echo "malformed: work folder kept: $W"
echo "malformed: $pass passed, $fail failed (of $total cases)"
[ -n "${ZP_BUILD:-}" ] && echo "$pass $fail 0" > "$ZP_BUILD/malformed-counts"
[ $fail -eq 0 ]
