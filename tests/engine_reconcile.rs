//! At engine start, worktrees the store knows are compared with git and the disk; every
//! disagreement becomes an event and nothing is deleted.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ambidex::orchestrator::Engine;
use ambidex::protocol::{Actor, EventKind, NewEvent, TaskId, TaskSpec};
use ambidex::workspace::{WorktreeRequest, create};

fn append(engine: &Engine, events: Vec<NewEvent>) {
    engine.append_blocking(events).unwrap();
}

#[test]
fn missing_dirty_and_orphaned_worktrees_are_reported_as_events() {
    let dir = tempfile::tempdir().unwrap();
    let repo_dir = dir.path().join("repo");
    let repo = git2::Repository::init(&repo_dir).unwrap();
    std::fs::write(repo_dir.join("a.txt"), "a\n").unwrap();
    let mut index = repo.index().unwrap();
    index.add_path(std::path::Path::new("a.txt")).unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let me = git2::Signature::now("t", "t@example.com").unwrap();
    repo.commit(Some("HEAD"), &me, &me, "init", &tree, &[]).unwrap();

    let state = dir.path().join("state");
    let engine = Engine::open(&state.join("state.redb")).unwrap();
    let task = TaskId::new();
    let mut spec = TaskSpec::titled("reconcile me");
    spec.repo = Some(repo_dir.display().to_string());
    let mut events = vec![NewEvent::for_task(task, Actor::local_human(), EventKind::TaskCreated { spec })];
    let mut paths = Vec::new();
    for candidate in ["production", "c1", "orphan"] {
        let worktree = create(&WorktreeRequest {
            repo: repo_dir.clone(),
            task,
            candidate: candidate.into(),
            base: None,
            root: engine.worktrees_root(),
        })
        .unwrap();
        if candidate != "orphan" {
            events.push(NewEvent::for_task(
                task,
                Actor::Orchestrator,
                EventKind::WorktreeCreated {
                    candidate: candidate.into(),
                    path: worktree.path.display().to_string(),
                    branch: worktree.branch.clone(),
                    base: worktree.base.clone(),
                },
            ));
        }
        paths.push(worktree.path);
    }
    append(&engine, events);
    std::fs::write(paths[0].join("wip.txt"), "unsaved\n").unwrap();
    std::fs::remove_dir_all(&paths[1]).unwrap();

    let reported = engine.reconcile_worktrees().unwrap();
    let issues: Vec<(String, Option<TaskId>)> = reported
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::WorktreeIssue { issue, .. } => Some((issue.clone(), e.task)),
            _ => None,
        })
        .collect();
    assert!(issues.contains(&("dirty".to_owned(), Some(task))), "{issues:?}");
    assert!(issues.contains(&("missing".to_owned(), Some(task))), "{issues:?}");
    assert!(issues.contains(&("orphaned".to_owned(), None)), "{issues:?}");
    assert_eq!(issues.len(), 3);
    assert!(paths[0].join("wip.txt").exists() && paths[2].exists(), "nothing was deleted");
}
