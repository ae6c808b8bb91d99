#!/usr/bin/env bash
# chat1c build entry point.
#   ./build.sh           build the add-in package (every platform whose toolchain installs) and run the demo
#   ./build.sh test      run the whole test suite (installs what it needs: apt, npm, rust targets)
#   ./build.sh demo      build the native add-in and run the two-client demo only
#   ./build.sh package   build every platform and write dist/chat1c.zip
# Works as root on a fresh Debian 12 machine with rustup's toolchain.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
export CARGO_TERM_COLOR=never
DIST=$ROOT/dist
BIN_DIR=$ROOT/target/package-bin

log() { printf '\n==> %s\n' "$*"; }

apt_updated=0
apt_install() {
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then echo "need root to install: ${missing[*]}"; return 1; fi
    if [ $apt_updated = 0 ]; then apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

native() {
    log "building the native add-in and the 1C-faithful host"
    cargo build --release -p chat1c -p chat1c-host
}

demo() {
    native
    log "demo: two simulated 1C clients chatting over one SQLite store"
    cargo run --release -q -p chat1c-host --example demo -- \
        --lib "$ROOT/target/release/libchat1c.so" --cli "$ROOT/target/release/chat1c-host"
}

package() {
    log "installing the cross toolchains"
    bash package/targets/install-toolchains.sh
    log "building every platform"
    rm -rf "$BIN_DIR"; mkdir -p "$BIN_DIR" "$DIST"
    bash package/targets/build-all.sh "$BIN_DIR"
    log "packing $DIST/chat1c.zip"
    python3 package/make_package.py --bin-dir "$BIN_DIR" --out "$DIST/chat1c.zip"
}

# ---- the test suite: every step runs, failures are counted, the last line sums up ----
passed=0; failed=0; failed_names=()
step() {
    local name=$1; shift
    log "$name"
    local t0=$SECONDS
    if "$@"; then
        passed=$((passed + 1)); echo "--- $name: ok ($((SECONDS - t0)) s)"
    else
        failed=$((failed + 1)); failed_names+=("$name"); echo "--- $name: FAILED ($((SECONDS - t0)) s)"
    fi
}

rust_checks() {
    cargo fmt --all --check && cargo clippy --workspace --all-targets -q -- -D warnings
}

rust_tests() {
    # Builds the cdylib and the host CLI first: the tests load them as 1C would.
    cargo build --workspace -q && cargo test --workspace -q 2>&1 &&
        echo "again without chattr +i and mount, as in a container:" &&
        CHAT1C_TEST_NO_ADMIN=1 cargo test -q --test contract --test reliability -- \
            read_only folder_not_writable disk_full 2>&1
}

postgres_tests() {
    local url
    # A fresh cluster folder per run (under /tmp: the postgres user must reach it);
    # exported so the restart test and the final stop use the same one.
    export CHAT1C_PG_DIR=${CHAT1C_PG_DIR:-$(mktemp -d /tmp/chat1c-pg.XXXXXX)}
    url=$(bash tests/pg/cluster.sh start) || return 1
    CHAT1C_TEST_PG=$url cargo test -q --test contract --test push --test live --test find --test schema --test trust --test postgres --test summaries 2>&1
}

bsl_tests() {
    (cd tests/bsl && CARGO_TARGET_DIR="$ROOT/target/bsl" cargo test -q 2>&1) &&
        python3 -m unittest discover -s tests/bsl 2>&1
}

bench_check() {
    # A separate workspace (tests/bench): check it so it cannot rot unnoticed.
    CARGO_TARGET_DIR="$ROOT/target/bench" cargo check -q --manifest-path tests/bench/Cargo.toml
}

test_all() {
    step "install test prerequisites" apt_install valgrind python3 e2fsprogs psmisc
    step "format and lint" rust_checks
    step "unit, contract, push and host tests, valgrind included (cargo test)" rust_tests
    step "contract, push and fault tests on PostgreSQL" postgres_tests
    step "page in real engines (Chromium, WebKitGTK)" bash tests/page/run.sh
    step "BSL kit parses and drives the add-in" bsl_tests
    step "package scripts" python3 -m unittest discover -s package
    step "cross builds and the package zip" package
    step "the package zip" python3 package/make_package.py --verify "$DIST/chat1c.zip"
    step "foreign builds run (wine, qemu, i686)" bash tests/cross/run.sh "$BIN_DIR"
    step "fuzzing, bounded (cargo fuzz)" bash tests/fuzz/run.sh 30
    step "the benchmark command compiles" bench_check
    if [ -n "${CHAT1C_PG_DIR:-}" ]; then
        bash tests/pg/cluster.sh stop >/dev/null 2>&1 || true
        rm -rf "$CHAT1C_PG_DIR"
    fi
    echo
    if [ $failed -gt 0 ]; then echo "failed suites: ${failed_names[*]}"; fi
    echo "suites: $passed passed, $failed failed"
    [ $failed -eq 0 ]
}

case "${1:-all}" in
    all) package; demo ;;
    test) test_all ;;
    demo) demo ;;
    package) package ;;
    *) echo "usage: $0 [test|demo|package]"; exit 2 ;;
esac
