//! The second task's start on a generated 10,000-file repository, as one report (no criterion):
//!
//! - worktree creation by Ambidex (`workspace::create`) against `git worktree add -b` on the
//!   same repository, alternating, in the same run, with the ratio of the medians;
//! - the second task's start: its worktree plus the symbol map of that fresh worktree of the same
//!   commit with the shared tag cache warm (what every task after the first pays before its
//!   first model call), against `git worktree add` in the same run; the map alone, and the cold
//!   map the first task pays; the cache file's size after one and after every task.
//!
//! Run it with `bench/second-task.sh`, which also prints the machine's load. `RUNS` sets the
//! runs per figure (default 5; medians are reported), `FILES` the repository's size. The
//! `figure` lines (minimum, median and maximum of each series) are what `bench/compare.sh` reads.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ambidex::context::{ContextOptions, IndexStats, symbol_map, tag_cache_path};
use ambidex::protocol::TaskId;
use ambidex::workspace::{WorktreeRequest, create};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A repository of `files` Rust files in one commit, each defining a struct, an impl and ten
/// functions that call functions of other files (so the map has references to rank).
fn generated_repo(dir: &Path, files: usize) {
    let repo = git2::Repository::init(dir).unwrap();
    for i in 0..files {
        let path = dir.join(format!("src/module_{:03}/file_{i:05}.rs", i / 100));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut body = format!("pub struct Item{i} {{ pub value: usize }}\n\nimpl Item{i} {{\n");
        body.push_str(&format!("    pub fn new() -> Self {{ Item{i} {{ value: {i} }} }}\n}}\n\n"));
        for f in 0..10 {
            let callee = (i * 7 + f * 13) % files;
            body.push_str(&format!(
                "/// Function {f} of file {i}.\npub fn f_{i}_{f}(x: usize) -> usize {{\n    let item = Item{i}::new();\n    f_{callee}_{f}(x) + item.value\n}}\n\n"
            ));
        }
        std::fs::write(path, body).unwrap();
    }
    let mut index = repo.index().unwrap();
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let me = git2::Signature::now("bench", "bench@example.com").unwrap();
    repo.commit(Some("HEAD"), &me, &me, "generated", &tree, &[]).unwrap();
}

fn git(repo: &Path, args: &[&str]) {
    let status = Command::new("git").arg("-C").arg(repo).args(args).status().unwrap();
    assert!(status.success(), "git {args:?}");
}

/// Times `git worktree add -b <branch> <path> HEAD` (what Ambidex does: a new branch and its
/// checkout).
fn git_add(repo: &Path, path: &Path, n: usize) -> Duration {
    let branch = format!("bench/git-{n}");
    let started = Instant::now();
    git(repo, &["worktree", "add", "--quiet", "-b", &branch, path.to_str().unwrap(), "HEAD"]);
    started.elapsed()
}

fn ambidex_add(repo: &Path, root: &Path) -> (Duration, PathBuf) {
    let request = WorktreeRequest {
        repo: repo.to_owned(),
        task: TaskId::new(),
        candidate: "production".into(),
        base: None,
        root: root.to_owned(),
    };
    let started = Instant::now();
    let worktree = create(&request).unwrap();
    (started.elapsed(), worktree.path)
}

fn map(root: &Path, options: &ContextOptions) -> (Duration, IndexStats) {
    let started = Instant::now();
    let map = symbol_map(root, options).unwrap();
    let elapsed = started.elapsed();
    let _ = map.render(4096);
    (elapsed, map.index().stats.clone())
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// A `figure` line for `bench/compare.sh`: tab-separated name, then Ambidex's and the anchor's
/// minimum, median and maximum in milliseconds.
fn figure_line(name: &str, ours: &[Duration], anchor: &[Duration]) -> String {
    let spread = |times: &[Duration]| {
        let mut ms: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        format!("{:.1}\t{:.1}\t{:.1}", ms[0], ms[ms.len() / 2], ms[ms.len() - 1])
    };
    format!("figure\t{name}\t{}\t{}", spread(ours), spread(anchor))
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn mib(path: &Path) -> String {
    format!("{:.1} MiB", std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0)
}

fn main() {
    let runs = env_or("RUNS", 5).max(1);
    let files = env_or("FILES", 10_000);
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let started = Instant::now();
    generated_repo(&repo, files);
    println!("generated repository: {files} files in {}", secs(started.elapsed()));
    let state = dir.path().join("state");
    let root = state.join("worktrees");
    let options = ContextOptions::default().with_state_dir(&state);

    // The first task: a worktree and a cold symbol map.
    let (created, first) = ambidex_add(&repo, &root);
    let (cold, stats) = map(&first, &options);
    let cache = tag_cache_path(&state);
    println!(
        "first task: worktree {}, cold symbol map {} ({} files: {} cached, {} tagged); cache {}",
        secs(created),
        secs(cold),
        stats.source_files,
        stats.cache_hits,
        stats.cache_misses,
        mib(&cache)
    );

    // Every later task, alternating with the anchor.
    let (mut by_git, mut by_ambidex, mut maps, mut starts) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut last = IndexStats::default();
    for n in 0..runs {
        by_git.push(git_add(&repo, &dir.path().join(format!("git-{n}")), n));
        let (created, path) = ambidex_add(&repo, &root);
        by_ambidex.push(created);
        let (mapped, stats) = map(&path, &options);
        maps.push(mapped);
        starts.push(created + mapped);
        last = stats;
    }
    println!("{}", figure_line("worktree creation vs `git worktree add -b`", &by_ambidex, &by_git));
    println!(
        "{}",
        figure_line("second task's start (worktree + warm symbol map) vs `git worktree add -b`", &starts, &by_git)
    );
    let (git_median, ours, warm, start) = (median(by_git), median(by_ambidex), median(maps), median(starts));
    println!(
        "later tasks ({runs} runs, medians): symbol map of a fresh worktree {} ({} cached, {} tagged) vs `git worktree add` {} ({:.2}×); cold map {:.1}× the warm one",
        secs(warm),
        last.cache_hits,
        last.cache_misses,
        secs(git_median),
        warm.as_secs_f64() / git_median.as_secs_f64(),
        cold.as_secs_f64() / warm.as_secs_f64()
    );
    println!(
        "second task's start: {} vs `git worktree add` {} ({:.2}×)",
        secs(start),
        secs(git_median),
        start.as_secs_f64() / git_median.as_secs_f64()
    );
    println!(
        "worktree creation: Ambidex {} vs `git worktree add -b` {} ({:.2}×)",
        secs(ours),
        secs(git_median),
        ours.as_secs_f64() / git_median.as_secs_f64()
    );
    println!("tag cache after {} tasks: {}", runs + 1, mib(&cache));
}
