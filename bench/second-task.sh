#!/usr/bin/env bash
# The second task's start: on a generated 10,000-file repository, Ambidex's worktree creation,
# and that worktree plus its symbol map with the shared tag cache warm (what a task of the same
# commit pays before its first model call), each against `git worktree add` in the same run
# (benches/second_task.rs). Prints the machine's
# load before and after, since both figures move with it.
#
# Usage: bench/second-task.sh   (RUNS=5 runs per figure, FILES=10000 files)
set -euo pipefail
cd "$(dirname "$0")/.."
echo "load before: $(uptime)"
cargo bench --quiet --bench second_task
echo "load after: $(uptime)"
