//! An engine that takes the store knows no other engine runs it: tasks the log says are running
//! become interrupted (and can be resumed), the git locks their killed runs left on Ambidex's own
//! branches and worktrees are removed, and the user's own locks are only named.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
}

use std::path::{Path, PathBuf};

use ambidex::orchestrator::Engine;
use ambidex::protocol::{Actor, EventKind, NewEvent, TaskId, TaskSpec, TaskStatus};
use ambidex::workspace::{Worktree, WorktreeRequest, create};
use support::cli::Sandbox;

fn commit_file(repo_dir: &Path, name: &str, text: &str) {
    let repo = git2::Repository::open(repo_dir).unwrap();
    std::fs::write(repo_dir.join(name), text).unwrap();
    let mut index = repo.index().unwrap();
    index.add_path(Path::new(name)).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let me = git2::Signature::now("t", "t@example.com").unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    repo.commit(Some("HEAD"), &me, &me, "init", &tree, &parents).unwrap();
}

fn status(from: TaskStatus, to: TaskStatus) -> EventKind {
    EventKind::StatusChanged { from, to, reason: "test".into() }
}

/// A store where one task is `running` (its engine was killed) with its production worktree.
fn running_task(sandbox: &Sandbox) -> (TaskId, Worktree) {
    commit_file(&sandbox.repo(), "a.txt", "a\n");
    let engine = Engine::open(&sandbox.store()).unwrap();
    let task = TaskId::new();
    let mut spec = TaskSpec::titled("killed while it ran");
    spec.repo = Some(sandbox.repo().display().to_string());
    let worktree = create(&WorktreeRequest {
        repo: sandbox.repo(),
        task,
        candidate: "production".into(),
        base: None,
        root: engine.worktrees_root(),
    })
    .unwrap();
    let created = EventKind::WorktreeCreated {
        candidate: "production".into(),
        path: worktree.path.display().to_string(),
        branch: worktree.branch.clone(),
        base: worktree.base.clone(),
    };
    let events = [
        EventKind::TaskCreated { spec },
        status(TaskStatus::Received, TaskStatus::Queued),
        status(TaskStatus::Queued, TaskStatus::Running),
        created,
    ];
    engine
        .append_blocking(events.into_iter().map(|kind| NewEvent::for_task(task, Actor::Orchestrator, kind)).collect())
        .unwrap();
    engine.shutdown();
    (task, worktree)
}

fn show(sandbox: &Sandbox, task: TaskId) -> serde_json::Value {
    serde_json::from_str(&sandbox.run(&["task", "show", &task.to_string(), "--json"]).ok()).unwrap()
}

#[test]
fn a_task_left_running_is_interrupted_at_engine_start_and_its_stale_locks_are_removed() {
    let sandbox = Sandbox::new();
    let (task, worktree) = running_task(&sandbox);
    let git = sandbox.repo().join(".git");
    let short = task.short();
    let branch_lock = git.join(format!("refs/heads/ambidex/{short}/production.lock"));
    let index_lock = git.join(format!("worktrees/{}/index.lock", worktree.name));
    let head_lock = git.join(format!("worktrees/{}/HEAD.lock", worktree.name));
    let user_lock = git.join("index.lock");
    for lock in [&branch_lock, &index_lock, &head_lock, &user_lock] {
        std::fs::write(lock, "").unwrap();
    }
    assert_eq!(show(&sandbox, task)["task"]["status"], "running", "a reader alone changes nothing");
    let doctor = sandbox.run(&["doctor"]);
    assert!(doctor.stdout.contains(&user_lock.display().to_string()), "{}", doctor.stdout);
    let resume_hint = format!("{short} was running when its engine stopped: `ambidex run --task {short}` resumes it");
    assert!(doctor.stdout.contains(&resume_hint), "doctor names the stopped task:\n{}", doctor.stdout);

    // Any engine start (here the one `task resume` opens) proves the old run is gone.
    let resumed = sandbox.run(&["task", "resume", &short]);
    assert_eq!(resumed.code, 0, "{}\n{}", resumed.stdout, resumed.stderr);
    let shown = show(&sandbox, task);
    assert_eq!(shown["task"]["status"], "queued", "{shown}");
    let kinds: Vec<String> = shown["events"].as_array().unwrap().iter().map(|e| e.to_string()).collect();
    let interrupted = kinds.iter().position(|k| k.contains("status_changed") && k.contains(r#""to":"interrupted""#));
    let queued = kinds.iter().rposition(|k| k.contains("status_changed") && k.contains(r#""to":"queued""#));
    assert!(interrupted.is_some() && interrupted < queued, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| k.contains("stale_lock")).count(), 3, "{kinds:?}");
    for lock in [&branch_lock, &index_lock, &head_lock] {
        assert!(!lock.exists(), "{} is still there", lock.display());
    }
    assert!(user_lock.exists(), "the user's own index lock is never removed");
    let doctor = sandbox.run(&["doctor"]);
    assert!(doctor.stdout.contains(&user_lock.display().to_string()), "{}", doctor.stdout);
    assert!(!doctor.stdout.contains("stopped tasks"), "the resumed task is queued now:\n{}", doctor.stdout);
}

#[test]
fn a_lock_that_is_not_ours_is_named_in_the_error() {
    let sandbox = Sandbox::new();
    commit_file(&sandbox.repo(), "a.txt", "a\n");
    let task = TaskId::new();
    let root = sandbox.path("worktrees");
    // Another state directory's task (or the user) holds this branch's lock.
    let lock: PathBuf = sandbox.repo().join(format!(".git/refs/heads/ambidex/{}/production.lock", task.short()));
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    std::fs::write(&lock, "").unwrap();
    let request = WorktreeRequest { repo: sandbox.repo(), task, candidate: "production".into(), base: None, root };
    let message = create(&request).unwrap_err().to_string();
    assert!(message.contains(&lock.display().to_string()) && message.contains("delete it"), "{message}");
    assert!(lock.exists());
}
