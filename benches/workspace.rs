//! Workspace and sandbox benchmarks: creating a worktree of a 10,000-file repository against
//! `git worktree add` on the same repository; a stage checkpoint of that worktree with 50 changed
//! and 10 new files against git's plumbing recording the same state as a commit (a scratch copy of
//! the index, `add -A`, `write-tree`, `commit-tree`) in the same run; and the cost of starting a command at each sandbox level
//! against a bare spawn.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};

use ambidex::protocol::TaskId;
use ambidex::tools::runner::{RunSpec, run};
use ambidex::tools::sandbox::{SandboxLevel, probe};
use ambidex::workspace::{WorktreeRequest, checkpoint, create, remove};

fn generated_repo(dir: &Path, files: usize) {
    let repo = git2::Repository::init(dir).unwrap();
    for i in 0..files {
        let path = dir.join(format!("src/module_{:03}/file_{i:05}.rs", i / 100));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let body: String = (0..20).map(|line| format!("pub fn f_{i}_{line}() -> usize {{ {line} }}\n")).collect();
        std::fs::write(path, body).unwrap();
    }
    let mut index = repo.index().unwrap();
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let me = git2::Signature::now("bench", "bench@example.com").unwrap();
    repo.commit(Some("HEAD"), &me, &me, "generated", &tree, &[]).unwrap();
}

fn worktrees(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    generated_repo(&repo, 10_000);
    let root = dir.path().join("worktrees");
    let mut group = c.benchmark_group("worktree_10k_files");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("ambidex_create", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let request = WorktreeRequest {
                    repo: repo.clone(),
                    task: TaskId::new(),
                    candidate: "production".into(),
                    base: None,
                    root: root.clone(),
                };
                let started = Instant::now();
                let worktree = create(&request).unwrap();
                total += started.elapsed();
                remove(&worktree, true).unwrap();
            }
            total
        })
    });
    let mut n = 0u64;
    group.bench_function("git_worktree_add", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                n += 1;
                let path: PathBuf = dir.path().join(format!("git-wt-{n}"));
                let started = Instant::now();
                let status = Command::new("git")
                    .args(["worktree", "add", "-q", "-b", &format!("bench-{n}")])
                    .arg(&path)
                    .arg("HEAD")
                    .current_dir(&repo)
                    .status()
                    .unwrap();
                total += started.elapsed();
                assert!(status.success());
                Command::new("git")
                    .args(["worktree", "remove", "--force"])
                    .arg(&path)
                    .current_dir(&repo)
                    .status()
                    .unwrap();
            }
            total
        })
    });
    group.finish();
}

fn sandbox_start(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let helper = PathBuf::from(env!("CARGO_BIN_EXE_ambidex"));
    let mut group = c.benchmark_group("command_start");
    group.bench_function("bare_spawn", |b| {
        b.to_async(&runtime).iter(|| async { tokio::process::Command::new("true").status().await.unwrap() })
    });
    let probe = probe();
    let mut levels = vec![SandboxLevel::None];
    if probe.landlock.usable {
        levels.push(SandboxLevel::Landlock);
    }
    if probe.bubblewrap.usable {
        levels.push(SandboxLevel::Bubblewrap);
    }
    for level in levels {
        let spec = RunSpec {
            command: "true".into(),
            workdir: dir.path().to_owned(),
            level,
            timeout: Duration::from_secs(10),
            output_cap: 4096,
            helper: helper.clone(),
            env: Vec::new(),
            paths: Default::default(),
        };
        group.bench_function(format!("runner_{level}"), |b| {
            b.to_async(&runtime).iter(|| async { assert!(run(&spec).await.unwrap().success()) })
        });
    }
    group.finish();
}

fn checkpoints(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    generated_repo(&repo, 10_000);
    for i in 0..50 {
        let path = repo.join(format!("src/module_{:03}/file_{i:05}.rs", i));
        std::fs::write(&path, format!("pub fn changed_{i}() {{}}\n")).unwrap();
    }
    for i in 0..10 {
        std::fs::write(repo.join(format!("src/new_{i}.rs")), format!("pub fn new_{i}() {{}}\n")).unwrap();
    }
    let mut group = c.benchmark_group("checkpoint_10k_files_60_changed");
    group.sample_size(20).measurement_time(Duration::from_secs(20));
    let mut n = 0u64;
    group.bench_function("ambidex_checkpoint", |b| {
        b.iter(|| {
            n += 1;
            checkpoint(&repo, &format!("refs/ambidex/bench/checkpoints/{n}"), "bench").unwrap()
        })
    });
    // The anchor: the same record made with git's plumbing: a scratch copy of the index (with its
    // file stats, so unchanged files are not hashed again), every change and new file added to it,
    // its tree written and committed on top of HEAD.
    let index = dir.path().join("scratch-index");
    let script =
        "cp .git/index \"$GIT_INDEX_FILE\" && git add -A && git commit-tree -p HEAD -m bench \"$(git write-tree)\"";
    group.bench_function("git_plumbing", |b| {
        b.iter(|| {
            let out = Command::new("sh")
                .args(["-c", script])
                .current_dir(&repo)
                .env("GIT_INDEX_FILE", &index)
                .env("GIT_AUTHOR_NAME", "bench")
                .env("GIT_AUTHOR_EMAIL", "bench@example.com")
                .env("GIT_COMMITTER_NAME", "bench")
                .env("GIT_COMMITTER_EMAIL", "bench@example.com")
                .output()
                .unwrap();
            assert!(out.status.success() && !out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
        })
    });
    group.finish();
}

criterion_group!(benches, worktrees, checkpoints, sandbox_start);
criterion_main!(benches);
