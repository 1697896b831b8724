//! Context service benchmarks on a large real source tree (prepared by `bench/compare-rg.sh
//! --prepare-only`: crate sources from ~/.cargo/registry, at least 50 MiB of source): the symbol
//! map cold (empty tag cache), warm (nothing changed) and after one changed file, each rendered
//! at 4096 tokens; and bounded search.
//!
//! A one-shot report with the index statistics is printed first, then criterion measures.
//! `CONTEXT_BENCH_TREE` points at another tree; `CONTEXT_BENCH_QUICK=1` prints only the report.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::Criterion;

use ambidex::context::{ContextOptions, SearchQuery, search, symbol_map};

const BUDGET: usize = 4096;

fn tree() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tree =
        std::env::var_os("CONTEXT_BENCH_TREE").map(PathBuf::from).unwrap_or_else(|| root.join("target/bench-tree"));
    if !tree.join(".complete").exists() {
        let status = std::process::Command::new("bash")
            .arg(root.join("bench/compare-rg.sh"))
            .arg("--prepare-only")
            .env("CONTEXT_BENCH_TREE", &tree)
            .status()
            .expect("run bench/compare-rg.sh");
        assert!(status.success(), "preparing the bench tree failed");
    }
    tree
}

/// A file to edit for the one-change case, and its original content.
fn victim(tree: &Path) -> (PathBuf, Vec<u8>) {
    let walk = ignore::WalkBuilder::new(tree).build();
    for entry in walk.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "rs") && entry.metadata().is_ok_and(|m| m.len() > 20_000) {
            let content = std::fs::read(path).unwrap();
            return (path.to_owned(), content);
        }
    }
    panic!("no Rust file to edit in {}", tree.display());
}

fn map_once(tree: &Path, options: &ContextOptions) -> (Duration, String) {
    let started = Instant::now();
    let map = symbol_map(tree, options).unwrap();
    let rendering = Instant::now();
    let (text, shown) = map.render(BUDGET);
    let render = rendering.elapsed();
    let elapsed = started.elapsed();
    let stats = &map.index().stats;
    let line = format!(
        "{} source files: {} cached, {} tagged, {} skipped; index {:.3} s; ranking {:.3} s ({} iterations); render {:.3} s: {} definitions shown ({} chars)",
        stats.source_files,
        stats.cache_hits,
        stats.cache_misses,
        stats.skipped.total(),
        stats.elapsed.as_secs_f64(),
        map.elapsed.as_secs_f64(),
        map.iterations,
        render.as_secs_f64(),
        shown,
        text.chars().count()
    );
    (elapsed, line)
}

/// Single-thread tree-sitter parse rate (MB/s) on up to 10 MB of the tree's Rust files: the
/// floor under tagging, measured in the same run so loaded machines can be told apart.
fn parse_rate(tree: &Path) -> f64 {
    let mut sources = Vec::new();
    let mut total = 0;
    for entry in ignore::WalkBuilder::new(tree).build().flatten() {
        if entry.path().extension().is_some_and(|e| e == "rs") {
            let source = std::fs::read(entry.path()).unwrap();
            if source.len() <= 1024 * 1024 {
                total += source.len();
                sources.push(source);
            }
            if total > 10_000_000 {
                break;
            }
        }
    }
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&tree_sitter_rust::LANGUAGE.into()).unwrap();
    let started = Instant::now();
    for source in &sources {
        drop(parser.parse(source, None));
    }
    total as f64 / 1e6 / started.elapsed().as_secs_f64()
}

fn report(tree: &Path) {
    println!("tree-sitter parse only (Rust, 1 thread): {:.2} MB/s", parse_rate(tree));
    let cache = tempfile::tempdir().unwrap();
    let options = ContextOptions::default().with_state_dir(cache.path());
    let (cold, line) = map_once(tree, &options);
    println!("map cold:       {:>7.3} s  ({line})", cold.as_secs_f64());
    let (warm, line) = map_once(tree, &options);
    println!("map warm:       {:>7.3} s  ({line})", warm.as_secs_f64());
    let (path, original) = victim(tree);
    let mut edited = original.clone();
    edited.extend_from_slice(b"\n// edited by the benchmark\n");
    std::fs::write(&path, &edited).unwrap();
    let (changed, line) = map_once(tree, &options);
    std::fs::write(&path, &original).unwrap();
    println!("map one change: {:>7.3} s  ({line})", changed.as_secs_f64());
    let no_cache = ContextOptions::default();
    let (uncached, _) = map_once(tree, &no_cache);
    println!("map no cache:   {:>7.3} s", uncached.as_secs_f64());
    for pattern in ["unsafe impl", "fn [a-z_]+_mut\\("] {
        let started = Instant::now();
        let results = search(tree, &unbounded(pattern)).unwrap();
        println!(
            "search {pattern:?}: {:.3} s, {} matching lines in {} of {} files",
            started.elapsed().as_secs_f64(),
            results.total_matches,
            results.files_matched,
            results.files_searched
        );
    }
}

fn unbounded(pattern: &str) -> SearchQuery {
    SearchQuery { max_matches: usize::MAX, ..SearchQuery::new(pattern) }
}

fn benches(c: &mut Criterion, tree: &Path) {
    let mut group = c.benchmark_group("symbol_map");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("cold", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let cache = tempfile::tempdir().unwrap();
                let options = ContextOptions::default().with_state_dir(cache.path());
                total += map_once(tree, &options).0;
            }
            total
        })
    });
    let cache = tempfile::tempdir().unwrap();
    let options = ContextOptions::default().with_state_dir(cache.path());
    map_once(tree, &options);
    group.bench_function("warm", |b| b.iter(|| map_once(tree, &options).0));
    let (path, original) = victim(tree);
    group.bench_function("one_change", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for i in 0..iterations {
                let mut edited = original.clone();
                edited.extend_from_slice(format!("\n// edit {i}\n").as_bytes());
                std::fs::write(&path, &edited).unwrap();
                total += map_once(tree, &options).0;
            }
            total
        })
    });
    std::fs::write(&path, &original).unwrap();
    group.finish();

    let mut group = c.benchmark_group("search");
    group.sample_size(10);
    for (name, pattern) in [("literal", "unsafe impl"), ("regex", "fn [a-z_]+_mut\\(")] {
        let query = unbounded(pattern);
        group.bench_function(name, |b| b.iter(|| search(tree, &query).unwrap()));
    }
    group.finish();
}

fn main() {
    // As the binary does (`src/main.rs`); `CONTEXT_BENCH_MALLOC=libc` measures without it.
    if std::env::var_os("CONTEXT_BENCH_MALLOC").is_none_or(|v| v != "libc") {
        // SAFETY: nothing has touched tree-sitter yet, and this is the only thread.
        unsafe { ambidex::context::install_parser_allocator() };
    }
    let tree = tree();
    println!("tree: {}", tree.display());
    report(&tree);
    if std::env::var_os("CONTEXT_BENCH_QUICK").is_some() {
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion, &tree);
    criterion.final_summary();
}
