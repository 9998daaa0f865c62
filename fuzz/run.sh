#!/usr/bin/env bash
# Build every fuzz target and run each for SECONDS_PER_TARGET seconds (default 30), then print a
# table: target, executions, exec/s, new coverage units, crashes. Exits non-zero if any target
# crashed, timed out or ran out of memory; the reproducer path is printed.
#
#   bash fuzz/run.sh [SECONDS_PER_TARGET]
#
# Environment:
#   FUZZ_SANITIZER   address (default) or none (faster build and runs; for quick CI smokes)
#   FUZZ_PROFILE     release (default: optimised, debug assertions on) or dev (unoptimised: builds
#                    much faster, runs slower; for quick CI smokes)
#   FUZZ_TARGETS     space-separated subset of targets (default: all)
#   FUZZ_TIMEOUT     per-input timeout in seconds (default 10)
#   FUZZ_RSS_MB      RSS limit in MiB (default 2048)
#   CARGO_TARGET_DIR build directory (default: <repo>/target); working corpora, crash artifacts
#                    and logs go under $CARGO_TARGET_DIR/fuzz-work, never into git
# Needs no network once cargo-fuzz is installed (it is installed pinned on first use) and no stdin.
set -euo pipefail

SECONDS_PER_TARGET="${1:-30}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ_DIR="$ROOT/fuzz"
CARGO_FUZZ_VERSION="0.13.2"
SANITIZER="${FUZZ_SANITIZER:-address}"
PROFILE="${FUZZ_PROFILE:-release}"
TIMEOUT="${FUZZ_TIMEOUT:-10}"
RSS_MB="${FUZZ_RSS_MB:-2048}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$CARGO_TARGET_DIR/fuzz-work"
TOOLS="$CARGO_TARGET_DIR/fuzz-tools"
# cargo-fuzz passes nightly-only flags (-Z sanitizer, sancov); allow them on the stable toolchain.
export RUSTC_BOOTSTRAP=1

ALL_TARGETS=(mcp_request tool_args oauth_inputs notion_responses markdown_to_blocks blocks_to_markdown markdown_roundtrip)
read -r -a TARGETS <<< "${FUZZ_TARGETS:-${ALL_TARGETS[*]}}"

dict_for() {
  case "$1" in
    markdown_to_blocks | markdown_roundtrip) echo "$FUZZ_DIR/dict/markdown.dict" ;;
    *) echo "$FUZZ_DIR/dict/json.dict" ;;
  esac
}

started=$(date +%s)
if ! "$TOOLS/bin/cargo-fuzz" --version 2> /dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION into $TOOLS"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$TOOLS" < /dev/null
fi
installed=$(date +%s)

case "$PROFILE" in
  release) PROFILE_FLAGS=(-O --debug-assertions) PROFILE_DIR=release ;;
  dev) PROFILE_FLAGS=(--dev) PROFILE_DIR=debug ;;
  *) echo "FUZZ_PROFILE must be release or dev" >&2 && exit 2 ;;
esac
echo "== building ${#TARGETS[@]} targets (sanitizer: $SANITIZER, profile: $PROFILE)"
(cd "$ROOT" && "$TOOLS/bin/cargo-fuzz" build --fuzz-dir "$FUZZ_DIR" "${PROFILE_FLAGS[@]}" \
  --sanitizer "$SANITIZER" < /dev/null)
built=$(date +%s)
BIN_DIR="$CARGO_TARGET_DIR/$(rustc -vV | sed -n 's/^host: //p')/$PROFILE_DIR"

mkdir -p "$WORK"
failed=0
rows=()
total_execs=0
for t in "${TARGETS[@]}"; do
  corpus="$WORK/corpus/$t"
  artifacts="$WORK/artifacts/$t/"
  log="$WORK/logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  echo "== $t: ${SECONDS_PER_TARGET}s"
  set +e
  # The working corpus (first directory) grows; the committed seeds are only read.
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}" \
    "$BIN_DIR/$t" "$corpus" "$FUZZ_DIR/corpus/$t" \
    -max_total_time="$SECONDS_PER_TARGET" -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" \
    -malloc_limit_mb="$RSS_MB" -dict="$(dict_for "$t")" -artifact_prefix="$artifacts" \
    -print_final_stats=1 -detect_leaks=0 < /dev/null > "$log" 2>&1
  rc=$?
  set -e
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  execs=$(stat number_of_executed_units)
  rate=$(stat average_exec_per_sec)
  new=$(stat new_units_added)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  crashes=$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
  execs=${execs:-0}
  total_execs=$((total_execs + execs))
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    failed=1
    echo "!! $t failed (exit $rc); last lines of $log:"
    tail -40 "$log"
    grep -E 'Test unit written to|artifact_prefix' "$log" || true
    find "$artifacts" -type f | sed 's/^/!! reproducer: /'
  fi
  rows+=("$(printf '%-20s %14s %10s %8s %8s %8s' "$t" "$execs" "${rate:-0}" "${new:-0}" "${cov:-0}" "$crashes")")
done
finished=$(date +%s)

echo
printf '%-20s %14s %10s %8s %8s %8s\n' target executions exec/s new_units cov crashes
printf '%s\n' "${rows[@]}"
printf '%-20s %14s\n' total "$total_execs"
echo "time: install $((installed - started))s, build $((built - installed))s, fuzz $((finished - built))s, total $((finished - started))s"
if [ "$failed" -ne 0 ]; then
  echo "FUZZING FOUND PROBLEMS: reproduce with <binary> <reproducer> (binaries in $BIN_DIR)"
  exit 1
fi
echo "fuzzing: 0 crashes, 0 timeouts, 0 out-of-memory"
