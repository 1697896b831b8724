#!/usr/bin/env bash
# Every anchor comparison of issue 22 in one run, each figure against its anchor on the same
# machine in the same run, alternating (anchor, then Ambidex, RUNS times), and one markdown table
# of minimum / median / maximum with the ratio of the medians. The README's "Measured" table is
# this script's output, pasted as printed.
#
#   task list vs git log      CPU (user + system) of `ambidex task list` on an empty store vs
#                             `git log --oneline -20` in this checkout, each the mean of REPEAT
#                             back-to-back runs
#   search vs rg              CPU of `ambidex search` vs `rg -n` over the tree bench/compare-rg.sh
#                             prepares, summed over its four patterns; the hits (file and line)
#                             must be identical, else the script stops
#   worktree, second task     wall time, from bench/second-task.sh (FILES-file generated repo)
#   empty vs 10,000 tasks     wall time of one submission with intake and triage, from
#                             `cargo bench --bench api -- api_history` (criterion's samples)
#   audit verify vs sha256sum wall time over 1,000,000 events, from `cargo bench --bench store`
#   bursts at 10,000 tasks    wall time of 1,000 submissions from 20 clients with intake into a
#                             fresh store of 10,000 tasks vs into a fresh empty one (HISTORY_RUNS
#                             of `cargo bench --bench api`); at most 1.25x is throughput >= 0.8x
#   control room first paint  wall time from starting `ambidex` in a 200x60 tmux window to its
#                             first full screen, and its resident memory then, on a store of
#                             10,000 finished tasks (examples/fill_store.rs) vs an empty one
#   serve, idle               resident memory of `ambidex serve` two seconds after it listens,
#                             on the same two stores
#   store bytes per event     the 10,000-task store's file (as written, and after `store
#                             compact`) per event, vs the events' JSON (one measurement: exact)
#
# Usage: bench/compare.sh          (about 8 minutes on 2 cores once built)
#        QUICK=1 bench/compare.sh  (smaller runs and repository: a check that it works)
# Environment: RUNS (default 7; QUICK 3), REPEAT (default 20: runs per CPU figure), FILES (default 10000; QUICK 2000),
# CONTEXT_BENCH_TREE (default: $CARGO_TARGET_DIR/bench-tree). Targets are the issue's where it
# names one (task list 3x, search 1.1x, worktree 1.3x, second task's start 1.5x, one submission
# 1.3x, bursts 1.25x, first paint 1.5x, serve memory 2x, bytes per event 1.5x); the others are
# this script's, marked "(proposed)".
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=${QUICK:-}
RUNS=${RUNS:-$([ -n "$QUICK" ] && echo 3 || echo 7)}
REPEAT=${REPEAT:-20}
FILES=${FILES:-$([ -n "$QUICK" ] && echo 2000 || echo 10000)}
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
export CONTEXT_BENCH_TREE=${CONTEXT_BENCH_TREE:-$TARGET_DIR/bench-tree}
started=$(date +%s)
load() { cut -d' ' -f1-3 /proc/loadavg; }
load_start=$(load)

echo "building..." >&2
cargo build --release --quiet --bin ambidex --example fill_store
cargo bench --quiet --no-run --bench api --bench store --bench second_task 2>/dev/null
BIN=$TARGET_DIR/release/ambidex
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rows=()

# Prints the minimum, median and maximum of numbers on stdin, tab-separated.
spread() { sort -g | awk '{a[NR]=$1} END {printf "%.1f\t%.1f\t%.1f\n", a[1], a[int((NR+1)/2)], a[NR]}'; }

# Milliseconds of CPU (user + system) per run: the mean over REPEAT back-to-back runs of the
# command, from the children's times bash's `times` reports (to the millisecond).
cpu_ms() {
    bash -c 'for _ in $(seq "$0"); do "$@" >/dev/null 2>&1; done; times' "$REPEAT" "$@" | tail -n 1 |
        awk -v n="$REPEAT" '{
            ms = 0
            for (k = 1; k <= 2; k++) { split($k, p, /[ms]/); ms += (p[1] * 60 + p[2]) * 1000 }
            printf "%.2f\n", ms / n
        }'
}

# Adds a table row: name, unit, Ambidex's "min\tmedian\tmax", the anchor's, target ratio, label.
row() {
    local name=$1 unit=$2 ours=$3 anchor=$4 target=$5 label=$6
    rows+=("$(awk -F'\t' -v name="$name" -v unit="$unit" -v o="$ours" -v a="$anchor" -v t="$target" -v l="$label" 'BEGIN {
        split(o, x, "\t"); split(a, y, "\t"); r = (y[2] > 0 ? x[2] / y[2] : 0)
        printf "| %s | %s / %s / %s %s | %s / %s / %s %s | %.2f× | ≤ %s× %s | %s |", name, x[1], x[2], x[3], unit, y[1], y[2], y[3], unit, r, t, l, (r <= t ? "yes" : "no")
    }')")
}

# 1. `task list` on an empty store vs `git log`.
echo "task list vs git log..." >&2
ours=() anchor=()
for _ in $(seq "$RUNS"); do
    anchor+=("$(cpu_ms git log --oneline -20)")
    ours+=("$(cpu_ms "$BIN" --state-dir "$work/empty" task list)")
done
row '`ambidex task list`, empty store, vs `git log --oneline -20`' "ms CPU" \
    "$(printf '%s\n' "${ours[@]}" | spread)" "$(printf '%s\n' "${anchor[@]}" | spread)" 3 ""

# 2. `search` vs rg on the same tree and patterns, identical hits.
echo "search vs rg..." >&2
bench/compare-rg.sh --prepare-only >/dev/null
tree=$CONTEXT_BENCH_TREE
command -v rg >/dev/null 2>&1 || { echo "rg is not installed: run bench/compare-rg.sh once (it installs it)" >&2; exit 1; }
patterns=('fn [a-z_]+_mut\(' 'unsafe impl' 'TODO|FIXME' '[A-Z][a-z]+Error::[A-Z][a-z]+')
hits() { grep -oE '^[^:]+:[0-9]+:' | sed "s|^$tree/||" | sort; }
for pattern in "${patterns[@]}"; do
    rg -n --no-heading -e "$pattern" "$tree" | hits >"$work/rg.hits" || true
    "$BIN" --state-dir "$work/state" --repo "$tree" search --max 100000000 -- "$pattern" 2>/dev/null | hits >"$work/ours.hits" || true
    if ! cmp -s "$work/rg.hits" "$work/ours.hits"; then
        echo "search and rg disagree on \`$pattern\` ($(wc -l <"$work/ours.hits") vs $(wc -l <"$work/rg.hits") hits)" >&2
        exit 1
    fi
done
ours=() anchor=()
search_repeat=$([ -n "$QUICK" ] && echo 1 || echo 2)
for _ in $(seq "$RUNS"); do
    a=0 o=0
    for pattern in "${patterns[@]}"; do
        a=$(awk -v s="$a" -v t="$(REPEAT=$search_repeat cpu_ms rg -n --no-heading -e "$pattern" "$tree")" 'BEGIN {print s + t}')
        o=$(awk -v s="$o" -v t="$(REPEAT=$search_repeat cpu_ms "$BIN" --state-dir "$work/state" --repo "$tree" search --max 100000000 -- "$pattern")" 'BEGIN {print s + t}')
    done
    anchor+=("$a") ours+=("$o")
done
row "\`ambidex search\` vs \`rg -n\`, 4 patterns summed, $(cat "$tree/.complete") bytes of source, identical hits" "ms CPU" \
    "$(printf '%s\n' "${ours[@]}" | spread)" "$(printf '%s\n' "${anchor[@]}" | spread)" 1.1 ""

# 3. Worktree creation and the second task's start vs `git worktree add` (bench/second-task.sh).
echo "worktrees ($FILES files)..." >&2
RUNS=$RUNS FILES=$FILES bench/second-task.sh >"$work/second-task.out" 2>&1
while IFS=$'\t' read -r _ name o1 o2 o3 a1 a2 a3; do
    target=1.3
    [[ $name == *"start"* ]] && target=1.5
    row "$name, $FILES files" "ms" "$o1	$o2	$o3" "$a1	$a2	$a3" "$target" ""
done < <(grep '^figure' "$work/second-task.out")

# 4. One submission into a store of 10,000 tasks vs into an empty one (criterion's samples).
echo "submissions, empty vs 10,000 tasks..." >&2
criterion_time=$([ -n "$QUICK" ] && echo 2 || echo 5)
HISTORY_RUNS=$RUNS cargo bench --quiet --bench api -- api_history --warm-up-time 1 --measurement-time "$criterion_time" >"$work/api.out" 2>&1
per_iter() {
    tr -d '\n ' <"$TARGET_DIR/criterion/api_history/$1/new/sample.json" |
        sed -E 's/.*"iters":\[([^]]*)\].*"times":\[([^]]*)\].*/\1;\2/' |
        awk -F';' '{n = split($1, i, ","); split($2, t, ","); for (k = 1; k <= n; k++) printf "%.4f\n", t[k] / i[k] / 1e6}' | spread
}
row "one submission with intake and triage, 10,000 earlier tasks vs an empty store" "ms" \
    "$(per_iter submit_one_at_10k_tasks)" "$(per_iter submit_one_empty)" 1.3 ""
while IFS=$'\t' read -r _ name o1 o2 o3 a1 a2 a3; do
    row "$name" "ms" "$o1	$o2	$o3" "$a1	$a2	$a3" 1.25 ""
done < <(grep '^figure' "$work/api.out")

# 5. `audit verify` vs sha256sum of the store file (benches/store.rs builds the store).
echo "audit verify (1,000,000 events)..." >&2
VERIFY_RUNS=$RUNS cargo bench --quiet --bench store -- reopen_10k_tasks_1m_events --warm-up-time 1 \
    --measurement-time "$criterion_time" >"$work/store.out" 2>&1
while IFS=$'\t' read -r _ name o1 o2 o3 a1 a2 a3; do
    row "$name" "ms" "$o1	$o2	$o3" "$a1	$a2	$a3" 2 "(proposed)"
done < <(grep '^figure' "$work/store.out")

# 6. The control room and `serve` on a store of 10,000 finished tasks vs an empty one.
echo "control room and serve, empty vs 10,000 tasks..." >&2
repo=$work/repo
git init --quiet "$repo" && git -C "$repo" -c user.name=b -c user.email=b@b commit --quiet --allow-empty -m start
mkdir -p "$work/empty"
"$TARGET_DIR/release/examples/fill_store" "$work/full" 10000
# Prints the milliseconds from starting the control room on state directory $1 to its first full
# screen (the key help on its last line), then its resident memory in MiB.
first_paint() {
    local session=compare-$$-$RANDOM started pid
    started=$(date +%s%N)
    tmux new-session -d -s "$session" -x 200 -y 60 "cd '$repo' && exec '$BIN' --state-dir '$1'"
    until tmux capture-pane -p -t "$session" 2>/dev/null | grep -q 'q quit'; do sleep 0.002; done
    echo "$((($(date +%s%N) - started) / 1000000))"
    pid=$(tmux list-panes -t "$session" -F '#{pane_pid}')
    awk '/^VmRSS/ {printf "%.1f\n", $2 / 1024}' "/proc/$pid/status"
    tmux kill-session -t "$session"
    # Until it has closed the store (a zombie waiting for tmux to reap it has).
    while [ -e "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; do sleep 0.01; done
}
# Prints the resident memory in MiB of `ambidex serve` on state directory $1, idle for two
# seconds after it listens.
serve_rss() {
    local out=$work/serve.out pid rss
    (cd "$repo" && exec "$BIN" --state-dir "$1" serve -c api.port=0) >"$out" 2>&1 &
    pid=$!
    until grep -qs listening "$out"; do sleep 0.01; done
    sleep 2
    rss=$(awk '/^VmRSS/ {printf "%.1f\n", $2 / 1024}' "/proc/$pid/status")
    kill -INT "$pid" && wait "$pid" || true
    echo "$rss"
}
paint=() paint_anchor=() rss=() rss_anchor=() serve=() serve_anchor=()
for _ in $(seq "$RUNS"); do
    measured=$(first_paint "$work/empty")
    paint_anchor+=("${measured%$'\n'*}") rss_anchor+=("${measured#*$'\n'}")
    measured=$(first_paint "$work/full")
    paint+=("${measured%$'\n'*}") rss+=("${measured#*$'\n'}")
    serve_anchor+=("$(serve_rss "$work/empty")") serve+=("$(serve_rss "$work/full")")
done
row "control room's first paint (200×60, tmux), 10,000 finished tasks vs an empty store" "ms" \
    "$(printf '%s\n' "${paint[@]}" | spread)" "$(printf '%s\n' "${paint_anchor[@]}" | spread)" 1.5 ""
row "control room's resident memory at its first paint, 10,000 finished tasks vs an empty store" "MiB" \
    "$(printf '%s\n' "${rss[@]}" | spread)" "$(printf '%s\n' "${rss_anchor[@]}" | spread)" 1.5 "(proposed)"
row "\`ambidex serve\`'s resident memory, idle, 10,000 finished tasks vs an empty store" "MiB" \
    "$(printf '%s\n' "${serve[@]}" | spread)" "$(printf '%s\n' "${serve_anchor[@]}" | spread)" 2 ""

# 7. Bytes per event in the store vs the events' JSON: as written, then after `store compact`.
echo "store size..." >&2
written=$(stat -c %s "$work/full/state.redb")
compacted=$(cd "$repo" && "$BIN" --state-dir "$work/full" store compact --json)
field() { grep "^  \"$1\":" <<<"$compacted" | tr -dc '0-9'; }
events=$(field events) json=$(field events_json) after=$(field after)
per() { awk -v b="$1" -v n="$events" 'BEGIN {printf "%.1f\t%.1f\t%.1f\n", b / n, b / n, b / n}'; }
row "store bytes per event, $events events of 10,000 tasks as written, vs the events' JSON" "bytes" \
    "$(per "$written")" "$(per "$json")" 1.5 ""
row "store bytes per event after \`ambidex store compact\`, vs the events' JSON" "bytes" \
    "$(per "$after")" "$(per "$json")" 1.5 ""

echo
echo "$(nproc) cores; load average $load_start at the start, $(load) at the end; $RUNS runs of each, alternating with the anchor; $(($(date +%s) - started)) s in all, building included"
echo
echo "| what | Ambidex min / median / max | anchor min / median / max | ratio of medians | target | met? |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
