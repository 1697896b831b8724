#!/usr/bin/env bash
# The whole kill test: the demo's two tasks (Right Hand alone, and both hands) are killed with
# SIGKILL after every one of their events and inside every git step `src/crash.rs` marks, then
# resumed; each resumed run must end with exactly one PR per task whose tree equals the
# uninterrupted run's, and `audit verify` must pass. CI runs a sample of these
# (`cargo test --test kill_points`); this runs all of them, in a release build with the crash
# points armed by the `kill-hook` feature.
#
# Usage: bench/kill-every-event.sh
# (Not AMBIDEX_*: those are configuration keys to the binary.)
#   KILL_TEST_JOBS   kills run at once (default: the number of CPUs)
set -euo pipefail
cd "$(dirname "$0")/.."

export KILL_TEST_EVERY_EVENT=1
export KILL_TEST_JOBS=${KILL_TEST_JOBS:-$(nproc)}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s)
if ! cargo test --release --features kill-hook --test kill_points -- --test-threads=1 --nocapture; then
    echo "FAILED after $(($(date +%s) - start)) s: a resumed run differs from the uninterrupted one (see above)"
    exit 1
fi
echo "every event boundary and crash point survived in $(($(date +%s) - start)) s; load after: $(cut -d' ' -f1-3 /proc/loadavg)"
