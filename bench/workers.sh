#!/usr/bin/env bash
# Throughput of the shared work queue on one machine: TASKS scripted documentation tasks (write
# one note each, validated with `test -f`) on a PostgreSQL store, run to their PRs by 1, 2 and 4
# `ambidex worker --exit-when-idle` processes (one slot each). Prints tasks per second for each
# and the speed-up against one worker, measured in the same run, with the machine's load before
# and after (every figure moves with it; on 2 cores, 4 workers mostly share them).
#
# Needs PostgreSQL's server binaries (Debian's `postgresql`); starts a private server on a free
# port and removes it at the end.
# Usage: bench/workers.sh   (TASKS=40)
set -euo pipefail
cd "$(dirname "$0")/.."
TASKS="${TASKS:-40}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME:-/root}/.cache/ambidex-target}"
cargo build --release --quiet
AMBIDEX="$CARGO_TARGET_DIR/release/ambidex"

bin="$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")"
work="$(mktemp -d)"
as_pg=()
if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); chown postgres "$work"; fi
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"${as_pg[@]}" "$bin/initdb" -D "$work/pg" -A trust -U ambidex --no-sync >/dev/null
"${as_pg[@]}" "$bin/pg_ctl" start -D "$work/pg" -w -s -l "$work/pg.log" \
  -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c max_connections=200"
trap '"${as_pg[@]}" "$bin/pg_ctl" stop -D "$work/pg" -m immediate -s; rm -rf "$work"' EXIT

# One repository and one script for every round.
repo="$work/repo"
mkdir -p "$repo" && git -C "$repo" init -q && echo notes > "$repo/README.md"
git -C "$repo" add . && git -C "$repo" -c user.name=b -c user.email=b@b commit -qm start
script="$work/script.toml"
for n in $(seq -w 1 "$TASKS"); do
  sed "s/TAG/n$n/g" tests/support/note_task.toml >> "$script"
done

echo "load before: $(uptime)"
base=""
for workers in 1 2 4; do
  db="w$workers"
  psql -q -h 127.0.0.1 -p "$port" -U ambidex -d postgres -c "CREATE DATABASE $db"
  state="$work/state$workers"
  flags=(--state-dir "$state" -c "store.url=\"postgres://ambidex@127.0.0.1:$port/$db\"" -c engine.challengers=0
         -c providers.script.kind=scripted -c "providers.script.script=$script" -c models.default_provider=script)
  for n in $(seq -w 1 "$TASKS"); do
    (cd "$repo" && "$AMBIDEX" "${flags[@]}" task add --title "Write note n$n into the notes folder" \
      --criteria "notes/n$n.txt exists and holds the line 'note n$n'" --risk low --kind documentation \
      --validate "test -f notes/n$n.txt" >/dev/null)
  done
  start=$(date +%s%N)
  pids=()
  for _ in $(seq 1 "$workers"); do
    (cd "$repo" && "$AMBIDEX" "${flags[@]}" worker --approve all --slots 1 --exit-when-idle >/dev/null) &
    pids+=($!)
  done
  wait "${pids[@]}"
  elapsed_ns=$(( $(date +%s%N) - start ))
  done_count=$(cd "$repo" && "$AMBIDEX" "${flags[@]}" task list --json | python3 -c \
    'import json,sys; d=json.load(sys.stdin); d=d if isinstance(d,list) else d["tasks"]; print(sum(t["status"]=="pr_ready" for t in d))')
  [ -z "$base" ] && base=$elapsed_ns
  python3 -c "import sys; w, d, t, ns, b = map(int, sys.argv[1:]); s = ns / 1e9
print(f'{w} worker(s): {d}/{t} tasks to their PRs in {s:.1f} s = {t / s:.2f} tasks/s (x{b / ns:.2f} of one worker)')" \
    "$workers" "$done_count" "$TASKS" "$elapsed_ns" "$base"
done
echo "load after: $(uptime)"
