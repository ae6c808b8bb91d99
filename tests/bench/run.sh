#!/usr/bin/env bash
# Builds the add-in, the host CLI and the benchmark (release), then prints every figure.
#   tests/bench/run.sh            default size (a few minutes)
#   tests/bench/run.sh --smoke    tiny sizes, every section once (CI; figures not meaningful)
#   tests/bench/run.sh --full     the sizes BENCHMARKS.md reports (1,000,000 messages, 5,000 latency samples…)
#   tests/bench/run.sh --only latency,idle,throughput,scale,calls,fanout,pg,pgwrite,pgfanout,pgidle
#   tests/bench/run.sh --full --only fanout --readers 100   (fan-out with another number of readers)
# PostgreSQL figures use CHAT1C_PG_URL, else a throwaway cluster from tests/pg/cluster.sh
# (skipped with a printed reason when neither is available).
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/../../target-bench}
# The add-in as the package builds it (package/targets/build-all.sh): with the rlib among
# its crate types, `cargo build` makes the cdylib without LTO (cargo#9672): a build nobody
# ships, and slower.
(cd ../.. && cargo build --release -q -p chat1c-host \
    && cargo rustc --release -q -p chat1c --lib --crate-type cdylib)
cargo build --release -q
export CHAT1C_LIB=$CARGO_TARGET_DIR/release/libchat1c.so
export CHAT1C_HOST_CLI=$CARGO_TARGET_DIR/release/chat1c-host
exec "$CARGO_TARGET_DIR/release/chat1c-bench" "$@"
