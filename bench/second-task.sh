#!/usr/bin/env bash
# The second task's start: on a generated 10,000-file repository, the symbol map of a fresh
# worktree of the same commit with the shared tag cache warm, and Ambidex's worktree creation,
# each against `git worktree add` in the same run (benches/second_task.rs). Prints the machine's
# load before and after, since both figures move with it.
#
# Usage: bench/second-task.sh   (RUNS=5 runs per figure, FILES=10000 files)
set -euo pipefail
cd "$(dirname "$0")/.."
echo "load before: $(uptime)"
cargo bench --quiet --bench second_task
echo "load after: $(uptime)"
