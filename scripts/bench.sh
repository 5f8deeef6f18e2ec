#!/usr/bin/env bash
# Benchmarks of the release function (issue targets 1-5, 7, 8 and 9), on this machine,
# loopback only. Not part of the test suite: it prints PASS/FAIL per target and exits 0
# whatever the numbers (machines are noisy); it fails only when it cannot build or run.
#
#   bash scripts/bench.sh                 # build release, run targets 1-5, print the table
#   BENCH_COLD_RUNS=40 bash scripts/bench.sh
#   BENCH_CONCURRENCY=default,16,32 ...   # sweepConcurrency values for target 3 (default
#                                         # is always run: target 9 compares with it)
#   BENCH_SIZE_BEFORE=1 ...               # also build with an unoptimised release profile
#                                         # (target/bench-unopt, one more full build) for
#                                         # the binary size before/after
#   BENCH_CRITERION=1 ...                 # also run `cargo bench --bench core` (target 6)
#   BENCH_ONLY=cold ...                   # target 1 only (with the size table)
#   BENCH_ONLY=regions ...                # target 3 at default concurrency + target 9
#                                         # (3 Regions x 1,000 instances, #15), ~30 s once built
#   BENCH_SWEEP_BUS=0 ...                 # skip the sweep with JIT_EVENT_BUS set (#12)
#
# See BENCHMARKS.md for the method and the numbers measured here.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

out="${BENCH_OUT:-target/bench}"
mkdir -p "$out"
driver_pid=""
cleanup() {
  # The driver stops the processes it started; if we are interrupted, stop it (and them).
  if [ -n "$driver_pid" ] && kill -0 "$driver_pid" 2>/dev/null; then
    kill -TERM -- "-$driver_pid" 2>/dev/null || kill -TERM "$driver_pid" 2>/dev/null || true
    wait "$driver_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') x $(nproc)"
echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
echo "kernel: $(uname -sr)"
rustc --version
python3 --version

echo "== build (release profile from Cargo.toml)"
# Two invocations: examples are built with the dev-dependencies' features (tokio's
# test-util, …); building them together with the binaries would unify those features into
# the function too, and it would no longer be the binary that ships.
cargo build --release --locked --bin lightsail-jit --bin jit-sim
cargo build --release --locked --example empty_lambda --example empty_lambda_ct --example sdk_lambda

# Run copies: a later `cargo bench`/`cargo test` rebuilds target/release/lightsail-jit with
# the dev-dependencies' features, and must not swap the binary under a run.
bin="$out/bin"
mkdir -p "$bin"
cp target/release/lightsail-jit target/release/jit-sim \
  target/release/examples/empty_lambda target/release/examples/empty_lambda_ct \
  target/release/examples/sdk_lambda "$bin/"

size_of() { stat -c %s "$1"; }
mb() { awk -v b="$1" 'BEGIN { printf "%.2f MB", b / 1000000 }'; }
echo "== binary size (release profile: $(awk '/^\[profile.release\]/ {on=1; next} /^\[/ || /^$/ {on=0} on' Cargo.toml | paste -sd' '))"
for f in lightsail-jit jit-sim empty_lambda empty_lambda_ct sdk_lambda; do
  printf '%-16s %s\n' "$f" "$(mb "$(size_of "$bin/$f")")"
done
if [ "${BENCH_SIZE_BEFORE:-0}" = 1 ]; then
  echo "== binary size before: lto=false, codegen-units=16, opt-level=3, strip=false, panic=unwind"
  cargo build --release --locked --bin lightsail-jit --target-dir target/bench-unopt \
    --config 'profile.release.lto=false' --config 'profile.release.codegen-units=16' \
    --config 'profile.release.opt-level=3' --config 'profile.release.strip=false' \
    --config 'profile.release.panic="unwind"'
  before=$(size_of target/bench-unopt/release/lightsail-jit)
  after=$(size_of "$bin/lightsail-jit")
  echo "lightsail-jit before $(mb "$before") -> after $(mb "$after")" \
    "($(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.0f%%", 100 * a / b }') of before)"
  if command -v strip >/dev/null; then
    strip -o "$out/lightsail-jit.unopt.stripped" target/bench-unopt/release/lightsail-jit
    echo "(before, symbols stripped afterwards: $(mb "$(size_of "$out/lightsail-jit.unopt.stripped")"))"
  fi
fi

echo "== run (Runtime API stub + jit-sim with 50 ms per call, loopback)"
set +e
setsid python3 scripts/bench_lambda.py \
  --function "$bin/lightsail-jit" \
  --empty "$bin/empty_lambda" \
  --empty-ct "$bin/empty_lambda_ct" \
  --sdk "$bin/sdk_lambda" \
  --sim "$bin/jit-sim" \
  --cold-runs "${BENCH_COLD_RUNS:-20}" \
  --sweep-runs "${BENCH_SWEEP_RUNS:-3}" \
  --sweep-bus "${BENCH_SWEEP_BUS:-1}" \
  --concurrency "${BENCH_CONCURRENCY:-default,16,32}" \
  --only "${BENCH_ONLY:-all}" \
  --json "$out/results.json" --logdir "$out/logs" &
driver_pid=$!
wait "$driver_pid"
status=$?
driver_pid=""
set -e
if [ "$status" -ne 0 ]; then
  echo "bench: the harness failed (exit $status); logs in $out/logs" >&2
  exit "$status"
fi
echo "results: $out/results.json"

if [ "${BENCH_CRITERION:-0}" = 1 ]; then
  echo "== core throughput (criterion)"
  cargo bench --locked --bench core
fi
