#!/usr/bin/env bash
# Runs every cargo-fuzz target of the add-in for a bounded time.
#   tests/fuzz/run.sh [SECONDS]      (default 60 in total, shared by the targets)
# cargo fuzz needs a nightly toolchain and cargo-fuzz. On a fresh machine both are
# installed when rustup and the network allow (CHAT1C_FUZZ_NO_INSTALL=1 forbids it);
# otherwise the run is skipped with the reason printed and exit code 0.
set -uo pipefail
cd "$(dirname "$0")"
TOTAL=${1:-${FUZZ_SECONDS:-60}}
TARGETS=(args page)
export CARGO_TARGET_DIR=${CHAT1C_FUZZ_TARGET_DIR:-$PWD/../../target-fuzz}

skip() { echo "fuzz: SKIPPED — $*"; exit 0; }

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    [ -n "${CHAT1C_FUZZ_NO_INSTALL:-}" ] && skip "no nightly toolchain (cargo fuzz needs -Zsanitizer)"
    rustup toolchain install nightly --profile minimal >/dev/null 2>&1 ||
        skip "no nightly toolchain and it could not be installed"
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    [ -n "${CHAT1C_FUZZ_NO_INSTALL:-}" ] && skip "cargo-fuzz is not installed"
    cargo install cargo-fuzz --locked >/dev/null 2>&1 || skip "cargo-fuzz could not be installed"
fi
per=$(( TOTAL / ${#TARGETS[@]} )); [ "$per" -lt 5 ] && per=5
# The args target opens a scratch store here; removed at the end.
CHAT1C_FUZZ_STORE=$(mktemp -d)/fuzz.sqlite
export CHAT1C_FUZZ_STORE
trap 'rm -rf "$(dirname "$CHAT1C_FUZZ_STORE")"' EXIT
status=0
# A few seeds so short runs reach the interesting shapes at once.
mkdir -p corpus/page corpus/args
printf '</script><script>x\001ru\001[{"id":1,"topic":"</script>","participants":["<!--"],"unread":1,"last":null}]' >corpus/page/seed-script
printf 'Ann\001en\001\342\200\250]]>${x}\\u2028' >corpus/page/seed-separators
printf '\006\005\005topic\005\004a;b;\005\003hi!' >corpus/args/seed-send
printf '\004\003\001\000\000\000\000\000\000\000\003\000\000\000\000\000\000\000\000' >corpus/args/seed-messages
for t in "${TARGETS[@]}"; do
    echo "fuzz: $t for ${per} s (the first run builds with ASan on nightly: several minutes)"
    log=$(mktemp)
    # -rss_limit_mb: the args target opens a real store; -timeout: no input may hang.
    cargo +nightly fuzz run --fuzz-dir . "$t" "corpus/$t" -- \
        -max_total_time="$per" -rss_limit_mb=2048 -timeout=10 -max_len=4096 -print_final_stats=1 >"$log" 2>&1
    st=$?
    grep -E "^(#[0-9]+.*DONE|Done|stat::number_of_executed_units)" "$log"
    if [ $st -ne 0 ]; then
        tail -40 "$log"
        echo "fuzz: $t FAILED (exit $st; a crash input is kept under tests/fuzz/artifacts/$t)"
        status=1
    fi
    rm -f "$log"
done
exit $status
