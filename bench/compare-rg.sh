#!/usr/bin/env bash
# Compares `ambidex search` with ripgrep on a large real source tree: the same patterns, the same
# files (both respect .gitignore, .ignore and hidden files the same way), the same machine, the
# same run. Also prepares that tree for `cargo bench --bench context`.
#
# The tree is a copy of the crate sources cargo downloaded (~/.cargo/registry/src), generated
# bindings left out (windows*, winapi*, *-sys, tree-sitter grammars), until it holds at least
# 50 MiB of Rust/Python/JavaScript/TypeScript/Go source under 1 MiB per file.
#
# Usage: bench/compare-rg.sh [--prepare-only]
# (Not AMBIDEX_*: those are configuration keys to the binary.)
#   CONTEXT_BENCH_TREE      where the tree goes (default: target/bench-tree)
#   CONTEXT_BENCH_MIN_BYTES how much source it must hold (default: 52428800)
#   RUNS                    timed runs per pattern and tool (default: 5; the median is reported)
set -euo pipefail
cd "$(dirname "$0")/.."

TREE=${CONTEXT_BENCH_TREE:-$PWD/target/bench-tree}
MIN_BYTES=${CONTEXT_BENCH_MIN_BYTES:-52428800}
RUNS=${RUNS:-5}

source_bytes() {
    find "$1" -type f \( -name '*.rs' -o -name '*.py' -o -name '*.js' -o -name '*.ts' \
        -o -name '*.tsx' -o -name '*.go' \) -size -1025k -printf '%s\n' | awk '{s+=$1} END {print s+0}'
}

prepare() {
    if [ -f "$TREE/.complete" ]; then
        return
    fi
    local registry
    registry=$(ls -d "$HOME"/.cargo/registry/src/*/ 2>/dev/null | head -n 1 || true)
    if [ -z "$registry" ]; then
        echo "no crate sources under ~/.cargo/registry/src: run \`cargo fetch\` first" >&2
        exit 1
    fi
    rm -rf "$TREE"
    mkdir -p "$TREE"
    local total=0 crate bytes
    for crate in $(ls "$registry" | grep -Ev '^(windows|winapi|aws-lc|linux-raw-sys|web-sys|js-sys|libgit2-sys|tree-sitter-|ring-|libc-)'); do
        cp -r "$registry/$crate" "$TREE/"
        bytes=$(source_bytes "$TREE/$crate")
        total=$((total + bytes))
        if [ "$total" -ge "$MIN_BYTES" ]; then
            break
        fi
    done
    if [ "$total" -lt "$MIN_BYTES" ]; then
        echo "warning: only $total bytes of source available (wanted $MIN_BYTES)" >&2
    fi
    # Its own repository, so that it is the root `ambidex context` finds (not this checkout).
    git init --quiet "$TREE"
    echo "$total" > "$TREE/.complete"
}

prepare
if [ "${1:-}" = "--prepare-only" ]; then
    echo "$TREE"
    exit 0
fi

if ! command -v rg >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing ripgrep..." >&2
        (apt-get install -y ripgrep >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y ripgrep >/dev/null 2>&1)) || true
    fi
fi
if ! command -v rg >/dev/null 2>&1; then
    echo "ripgrep (rg) is not installed and could not be installed: skipping the comparison"
    exit 0
fi

cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/ambidex
STATE=$(mktemp -d)
trap 'rm -rf "$STATE"' EXIT

files=$(find "$TREE" -type f | wc -l)
size=$(du -sh --apparent-size "$TREE" | cut -f1)
echo "tree: $TREE ($files files, $size; $(cat "$TREE/.complete") bytes of tagged-language source)"
echo "rg: $(rg --version | head -n 1); threads: $(nproc)"

now_ns() { date +%s%N; }

# Prints the median wall time, in milliseconds, of RUNS runs of the command.
median_ms() {
    local times=() start end
    for _ in $(seq "$RUNS"); do
        start=$(now_ns)
        "$@" >/dev/null 2>&1 || true
        end=$(now_ns)
        times+=($(((end - start) / 1000000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

patterns=(
    'fn [a-z_]+_mut\('
    'unsafe impl'
    'TODO|FIXME'
    '[A-Z][a-z]+Error::[A-Z][a-z]+'
)
worst=0
printf '%-36s %10s %10s %8s %9s\n' pattern "rg ms" "ambidex ms" ratio matches
for pattern in "${patterns[@]}"; do
    # Warm the page cache and check both see the same matches.
    rg_count=$(rg -n --no-heading -e "$pattern" "$TREE" | wc -l)
    ours_count=$("$BIN" --state-dir "$STATE" --repo "$TREE" search --max 100000000 -- "$pattern" 2>/dev/null | grep -c '' || true)
    rg_ms=$(median_ms rg -n --no-heading -e "$pattern" "$TREE")
    ours_ms=$(median_ms "$BIN" --state-dir "$STATE" --repo "$TREE" search --max 100000000 -- "$pattern")
    ratio=$(awk -v a="$ours_ms" -v b="$rg_ms" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
    worst=$(awk -v a="$ratio" -v b="$worst" 'BEGIN {print (a > b ? a : b)}')
    printf '%-36s %10s %10s %8s %9s\n' "$pattern" "$rg_ms" "$ours_ms" "$ratio" "$rg_count/$ours_count"
done
echo "worst ratio ambidex/rg: $worst (goal <= 1.3)"
