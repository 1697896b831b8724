//! Workers on one shared store, as a team runs them: three `ambidex worker` processes against a
//! real PostgreSQL server share a queue of 51 scripted tasks; one is killed with SIGKILL while it
//! holds a task. Its lease expires, another worker resumes the task from its checkpoint, and in
//! the end every task has reached its PR exactly once, no stage finished twice, and the chain
//! verifies. Their artifacts go to one S3-compatible bucket (a fake on 127.0.0.1), where another
//! machine, sharing only the database and the bucket, fetches them.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod engine;
    pub mod fake_s3;
    pub mod postgres;
}

use std::collections::{BTreeMap, HashMap};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::cli::Sandbox;
use support::engine::{commit_all, script, scripted};
use support::fake_s3::FakeS3;
use support::postgres::Server;

const TASKS: usize = 51;
const CREDENTIALS: [(&str, &str); 3] =
    [("AWS_ACCESS_KEY_ID", "AKIDTEAM"), ("AWS_SECRET_ACCESS_KEY", "team-secret"), ("AWS_REGION", "us-east-1")];

/// Every role's turns for task `n`, kept for its agents by the phrase in its title.
fn turns(n: usize) -> String {
    include_str!("support/note_task.toml").replace("TAG", &format!("n{n:03}"))
}

fn flags(sandbox: &Sandbox, url: &str) -> Vec<String> {
    let script_text: String = (0..TASKS).map(turns).collect();
    let path = script(sandbox, "workers", &script_text);
    let mut flags = scripted(&path);
    for setting in [
        format!("store.url={}", serde_json::to_string(url).unwrap()),
        "store.lease_secs=3".to_owned(),
        "engine.challengers=0".to_owned(),
    ] {
        flags.extend(["-c".to_owned(), setting]);
    }
    flags
}

fn worker(sandbox: &Sandbox, flags: &[String]) -> Child {
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    args.extend(["worker", "--approve", "all", "--slots", "2", "--exit-when-idle"]);
    sandbox.command(&args).envs(CREDENTIALS).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

#[test]
fn three_workers_share_the_queue_and_survive_one_killed_mid_task() {
    let sandbox = Sandbox::new();
    sandbox.write("repo/README.md", "notes\n");
    commit_all(&sandbox.repo(), "start");
    let url = Server::get().database();
    let bucket = FakeS3::start("team-artifacts", "AKIDTEAM");
    let bucket_flags = [
        "-c".to_owned(),
        "store.artifacts=s3://team-artifacts/ambidex".to_owned(),
        "-c".to_owned(),
        format!("store.artifacts_endpoint={}", bucket.endpoint()),
    ];
    let mut flags = flags(&sandbox, &url);
    flags.extend(bucket_flags.iter().cloned());
    for n in 0..TASKS {
        let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
        let title = format!("Write note n{n:03} into the notes folder");
        let criteria = format!("notes/n{n:03}.txt exists and holds the line 'note n{n:03}'");
        let validate = format!("test -f notes/n{n:03}.txt");
        args.extend(["task", "add", "--title", &title, "--criteria", &criteria, "--risk", "low"]);
        args.extend(["--kind", "documentation", "--validate", &validate]);
        sandbox.run(&args).ok();
    }

    let mut workers: Vec<Child> = (0..3).map(|_| worker(&sandbox, &flags)).collect();
    // Kill the first worker while it runs a task: it holds the task's lease, the log says running.
    let victim = workers[0].id();
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let held: Vec<u8> = loop {
        let rows = db
            .query(
                "SELECT l.task FROM ambidex_leases l JOIN ambidex_tasks t ON t.id = l.task \
                 WHERE l.worker LIKE $1 AND t.status = 'running'",
                &[&format!("%:{victim}")],
            )
            .unwrap_or_default();
        if let Some(row) = rows.first() {
            break row.get(0);
        }
        assert!(Instant::now() < deadline, "the first worker never took a task");
        std::thread::sleep(Duration::from_millis(20));
    };
    // SAFETY: kill(2) on a child we started; it has not been waited on, so the pid is its own.
    unsafe { libc::kill(victim as i32, libc::SIGKILL) };
    workers[0].wait().unwrap();

    let deadline = Instant::now() + Duration::from_secs(600);
    for child in workers.iter_mut().skip(1) {
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let mut stderr = String::new();
                std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
                assert!(status.success(), "a worker failed: {stderr}");
                break;
            }
            assert!(Instant::now() < deadline, "the workers did not finish the queue");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    // Every task reached its PR exactly once; no stage finished twice.
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    args.extend(["audit", "log", "--all", "--json"]);
    let log = sandbox.run(&args).ok();
    let events: Vec<Value> = log.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let mut delivered: HashMap<String, usize> = HashMap::new();
    let mut finished: BTreeMap<(String, String), usize> = BTreeMap::new();
    for event in &events {
        let task = event["task"].as_str().unwrap_or_default().to_owned();
        let kind = &event["kind"];
        if kind["type"] == "status_changed" && kind["to"] == "pr_ready" {
            *delivered.entry(task.clone()).or_default() += 1;
        }
        if kind["type"] == "stage_finished" && kind["ok"] == true {
            *finished.entry((task, kind["stage"].as_str().unwrap().to_owned())).or_default() += 1;
        }
    }
    assert_eq!(delivered.len(), TASKS, "every task reached its PR");
    assert!(delivered.values().all(|count| *count == 1), "each exactly once: {delivered:?}");
    let twice: Vec<_> = finished.iter().filter(|(_, count)| **count > 1).collect();
    assert!(twice.is_empty(), "stages finished twice: {twice:?}");
    let held = ambidex::protocol::TaskId::from_u128(u128::from_be_bytes(held.try_into().unwrap())).to_string();
    let taken_over = events.iter().any(|e| {
        e["task"] == held.as_str() && e["kind"]["type"] == "status_changed" && e["kind"]["to"] == "interrupted"
    });
    assert!(taken_over, "the killed worker's task {held} was taken over as interrupted");
    assert_eq!(delivered.get(&held), Some(&1), "and reached its PR once");
    let runners: std::collections::HashSet<&str> = events
        .iter()
        .filter(|e| e["task"] == held.as_str() && e["kind"]["type"] == "status_changed" && e["kind"]["to"] == "running")
        .filter_map(|e| e["kind"]["reason"].as_str()?.split(" by worker ").nth(1))
        .collect();
    assert_eq!(runners.len(), 2, "the log names both workers that ran it: {runners:?}");

    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    args.extend(["audit", "verify"]);
    assert!(sandbox.run(&args).ok().starts_with("ok: "));
    let leases: i64 = db.query_one("SELECT count(*) FROM ambidex_leases", &[]).unwrap().get(0);
    assert_eq!(leases, 0, "every lease was given back or expired and was taken over");

    // Every PR document is in the bucket; another machine (its own home, state directory and no
    // repository of these tasks) lists and fetches the taken-over task's from the store and bucket.
    let documents = events
        .iter()
        .filter(|e| e["kind"]["type"] == "artifacts_stored")
        .flat_map(|e| e["kind"]["artifacts"].as_array().unwrap())
        .filter(|a| a["kind"] == "pr_document")
        .count();
    assert_eq!(documents, TASKS, "one PR document per task");
    let elsewhere = Sandbox::new();
    let mut args: Vec<String> = vec!["-c".into(), format!("store.url={}", serde_json::to_string(&url).unwrap())];
    args.extend(bucket_flags.iter().cloned());
    args.extend(["artifact".into(), "list".into(), held.clone(), "--json".into()]);
    let listed = elsewhere.run(&args.iter().map(String::as_str).collect::<Vec<_>>()).ok();
    let artifacts: Vec<Value> = serde_json::from_str(&listed).unwrap();
    let document = artifacts.iter().find(|a| a["kind"] == "pr_document").unwrap();
    let args: Vec<String> = args[..args.len() - 4]
        .iter()
        .cloned()
        .chain(["artifact".into(), "get".into(), document["digest"].as_str().unwrap().to_owned()])
        .collect();
    let fetched = elsewhere.run_with(&args.iter().map(String::as_str).collect::<Vec<_>>(), &CREDENTIALS).ok();
    assert!(fetched.starts_with("# Note n") && fetched.contains(&held), "{fetched}");
}

#[test]
fn a_task_parked_at_a_gate_holds_no_lease_and_a_decision_taken_anywhere_moves_it_on() {
    let sandbox = Sandbox::new();
    sandbox.write("repo/README.md", "notes\n");
    commit_all(&sandbox.repo(), "start");
    let url = Server::get().database();
    let flags = flags(&sandbox, &url);
    let with = |more: &[&str]| -> Vec<String> {
        flags.iter().cloned().chain(more.iter().map(|arg| (*arg).to_owned())).collect()
    };
    let run = |args: Vec<String>| sandbox.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    // Medium risk: the plan waits for a human. The worker parks it and, with nothing else to
    // run, leaves.
    let criteria = "notes/n008.txt exists and holds the line 'note n008'";
    let title = "Write note n008 into the notes folder";
    run(with(&["task", "add", "--title", title, "--criteria", criteria, "--risk", "medium"])).ok();
    let first = run(with(&["worker", "--approve", "none", "--exit-when-idle"])).ok();
    assert!(first.contains("waiting at the plan gate"), "{first}");
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let leases: i64 = db.query_one("SELECT count(*) FROM ambidex_leases", &[]).unwrap().get(0);
    assert_eq!(leases, 0, "a parked task holds no lease");

    // Another process, anywhere, decides each gate; the next worker takes the task on from there.
    let mut said = first;
    for _ in 0..6 {
        if said.contains("PR ready: Note n008") {
            return;
        }
        let gates: Value = serde_json::from_str(&run(with(&["gate", "list", "--json"])).ok()).unwrap();
        let gate = gates[0]["gate"].as_str().unwrap_or_else(|| panic!("no open gate after: {said}")).to_owned();
        run(with(&["gate", "approve", &gate])).ok();
        said = run(with(&["worker", "--approve", "none", "--exit-when-idle"])).ok();
    }
    panic!("the task never reached its PR: {said}");
}

#[test]
fn a_worker_without_a_usable_model_says_why_and_leaves_the_queue_alone() {
    let sandbox = Sandbox::new();
    let url = Server::get().database();
    let store = format!("store.url={}", serde_json::to_string(&url).unwrap());
    let criteria = "notes/n009.txt exists and holds the line 'note n009'";
    let title = "Write note n009 into the notes folder";
    sandbox.run(&["-c", &store, "task", "add", "--title", title, "--criteria", criteria, "--risk", "low"]).ok();
    // The default provider needs OPENAI_API_KEY, which the sandbox never passes on.
    let said = sandbox.run(&["-c", &store, "worker", "--exit-when-idle"]).ok();
    assert!(said.contains("OPENAI_API_KEY is not set") && said.contains("tasks stay queued"), "{said}");
    let listed = sandbox.run(&["-c", &store, "task", "list"]).ok();
    assert!(listed.contains("queued"), "{listed}");
}

/// A bare repository at a `file://` URL holding one commit: the remote every machine clones.
fn origin(sandbox: &Sandbox) -> (std::path::PathBuf, String) {
    let source = sandbox.path("origin-src");
    std::fs::create_dir_all(&source).unwrap();
    git2::Repository::init(&source).unwrap();
    std::fs::write(source.join("README.md"), "notes\n").unwrap();
    commit_all(&source, "start");
    let bare = sandbox.path("origin.git");
    let status = std::process::Command::new("git")
        .args(["clone", "--quiet", "--bare"])
        .arg(&source)
        .arg(&bare)
        .status()
        .unwrap();
    assert!(status.success());
    let url = format!("file://{}", bare.display());
    (bare, url)
}

#[test]
fn workers_on_two_machines_clone_by_url_and_one_resumes_what_the_other_pushed() {
    // Two machines: each its own home, state directory and clone cache; they share only the
    // database and the remote repository.
    let (a, b) = (Sandbox::new(), Sandbox::new());
    let (bare, url) = origin(&a);
    let db = Server::get().database();
    let flags = flags(&a, &db);
    // Runs `ambidex` on a machine with the shared flags, `more` arguments and `env`.
    let on = |machine: &Sandbox, more: &[&str], env: &[(&str, &str)]| {
        let args: Vec<&str> = flags.iter().map(String::as_str).chain(more.iter().copied()).collect();
        machine.run_with(&args, env)
    };
    let title = "Write note n001 into the notes folder";
    let criteria = "notes/n001.txt exists and holds the line 'note n001'";
    let task = ["task", "add", "--title", title, "--criteria", criteria, "--risk", "low", "--kind", "documentation"];
    let added =
        on(&a, &[&["--repo", url.as_str()][..], &task[..], &["--validate", "test -f notes/n001.txt"]].concat(), &[]);
    let added = added.ok();
    assert!(added.contains("queued"), "{added}");

    // A worker that cannot clone leaves the task to others, and with nothing else to do, leaves.
    let said = on(&a, &["worker", "--approve", "all", "--exit-when-idle"], &[]).ok();
    assert!(said.contains("left to other workers") && said.contains("--repos DIR"), "{said}");

    // Machine A clones and works until it dies mid-task (SIGKILL when it writes its fifth
    // checkpoint: the implementation's end state is pushed by then, the next stage's start is not).
    let cache_a = a.path("cache").display().to_string();
    let kill = [("KILL_AMBIDEX_AT", "checkpoint.written:5")];
    let died = on(&a, &["worker", "--approve", "all", "--exit-when-idle", "--repos", &cache_a], &kill);
    assert_eq!(died.code, -1, "machine A was killed mid-task: {}\n{}", died.stdout, died.stderr);

    // Machine B takes the task over once A's lease expires, from what A pushed.
    let cache_b = b.path("cache").display().to_string();
    let done = on(&b, &["worker", "--approve", "all", "--exit-when-idle", "--repos", &cache_b], &[]).ok();
    assert!(done.contains("PR ready: Note n001"), "{done}");

    let log = on(&a, &["audit", "log", "--all", "--json"], &[]).ok();
    let events: Vec<Value> = log.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let kinds = |kind: &'static str| events.iter().filter(move |e| e["kind"]["type"] == kind);
    let implemented = kinds("stage_finished").filter(|e| e["kind"]["kind"] == "implement" && e["kind"]["ok"] == true);
    assert_eq!(implemented.count(), 1, "the implementation ran once, on machine A");
    let resumed = kinds("note").any(|e| {
        let text = e["kind"]["text"].as_str().unwrap_or_default();
        text.starts_with("worktree on this machine set to refs/ambidex/") && text.contains("/finished/")
    });
    assert!(resumed, "machine B started from the state A pushed: {log}");
    let runners: std::collections::HashSet<&str> = kinds("status_changed")
        .filter(|e| e["kind"]["to"] == "running")
        .filter_map(|e| e["kind"]["reason"].as_str()?.split(" by worker ").nth(1))
        .collect();
    assert_eq!(runners.len(), 2, "both machines ran it: {runners:?}");
    assert_eq!(kinds("status_changed").filter(|e| e["kind"]["to"] == "pr_ready").count(), 1);

    // The result is on a branch of the remote, with the note A wrote and B delivered.
    let remote = git2::Repository::open_bare(&bare).unwrap();
    let branch = remote
        .branches(Some(git2::BranchType::Local))
        .unwrap()
        .flatten()
        .map(|(branch, _)| branch)
        .find(|branch| branch.name().unwrap().unwrap().ends_with("/production"))
        .expect("the task's branch was pushed");
    let tree = branch.get().peel_to_commit().unwrap().tree().unwrap();
    let note = tree.get_path(std::path::Path::new("notes/n001.txt")).unwrap().to_object(&remote).unwrap();
    assert_eq!(note.as_blob().unwrap().content(), b"note n001\n");
    // One clone per machine (beside its lock file).
    let clones = |machine: &Sandbox| {
        let entries = machine.path("cache").read_dir().unwrap().flatten();
        entries.filter(|e| !e.file_name().to_string_lossy().starts_with('.')).count()
    };
    assert_eq!((clones(&a), clones(&b)), (1, 1));
}

#[test]
fn a_machine_that_ran_a_task_before_takes_it_up_where_another_left_it() {
    let (a, b) = (Sandbox::new(), Sandbox::new());
    let (_bare, url) = origin(&a);
    let flags = flags(&a, &Server::get().database());
    let on = |machine: &Sandbox, more: &[&str], env: &[(&str, &str)]| {
        let args: Vec<&str> = flags.iter().map(String::as_str).chain(more.iter().copied()).collect();
        machine.run_with(&args, env)
    };
    let (cache_a, cache_b) = (a.path("cache").display().to_string(), b.path("cache").display().to_string());
    let criteria = "notes/n001.txt exists and holds the line 'note n001'";
    let title = "Write note n001 into the notes folder";
    let task = ["task", "add", "--title", title, "--criteria", criteria, "--risk", "medium", "--kind", "documentation"];
    on(&a, &[&["--repo", url.as_str()][..], &task[..], &["--validate", "test -f notes/n001.txt"]].concat(), &[]).ok();

    // B plans and parks at the plan gate, keeping its worktree; a person approves from A.
    let parked = on(&b, &["worker", "--approve", "none", "--exit-when-idle", "--repos", &cache_b], &[]).ok();
    assert!(parked.contains("waiting at the plan gate"), "{parked}");
    let gates: Value = serde_json::from_str(&on(&a, &["gate", "list", "--json"], &[]).ok()).unwrap();
    on(&a, &["gate", "approve", gates[0]["gate"].as_str().unwrap()], &[]).ok();

    // A implements, then dies as the next stage starts.
    let kill = [("KILL_AMBIDEX_AT", "checkpoint.written:3")];
    let died = on(&a, &["worker", "--approve", "all", "--exit-when-idle", "--repos", &cache_a], &kill);
    assert_eq!(died.code, -1, "A was killed mid-task: {}\n{}", died.stdout, died.stderr);

    // B's own worktree still holds the plan stage's files: it must go on from A's work instead.
    let done = on(&b, &["worker", "--approve", "all", "--exit-when-idle", "--repos", &cache_b], &[]).ok();
    assert!(done.contains("PR ready: Note n001"), "{done}");
    let log = on(&a, &["audit", "log", "--all", "--json"], &[]).ok();
    let events: Vec<Value> = log.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let implemented = events.iter().filter(|e| {
        e["kind"]["type"] == "stage_finished" && e["kind"]["kind"] == "implement" && e["kind"]["ok"] == true
    });
    assert_eq!(implemented.count(), 1, "the implementation ran once, on A");
    let caught_up = events.iter().any(|e| {
        e["kind"]["type"] == "note"
            && e["kind"]["text"]
                .as_str()
                .unwrap_or_default()
                .starts_with("worktree on this machine set to refs/ambidex/")
    });
    assert!(caught_up, "B's reused worktree was set to what A pushed: {log}");
}

/// A commit of the remote that no task branch descends from.
fn unrelated_commit(remote: &git2::Repository) -> git2::Oid {
    let blob = remote.blob(b"someone else's work\n").unwrap();
    let mut tree = remote.treebuilder(None).unwrap();
    tree.insert("OTHER.md", blob, 0o100644).unwrap();
    let tree = remote.find_tree(tree.write().unwrap()).unwrap();
    let who = git2::Signature::now("Someone", "someone@example.com").unwrap();
    remote.commit(None, &who, &who, "unrelated", &tree, &[]).unwrap()
}

#[test]
fn a_remote_that_refuses_the_pushes_costs_the_task_nothing_and_the_log_says_what_did_not_go() {
    let a = Sandbox::new();
    let (bare, url) = origin(&a);
    let flags = flags(&a, &Server::get().database());
    let on = |more: &[&str]| {
        let args: Vec<&str> = flags.iter().map(String::as_str).chain(more.iter().copied()).collect();
        a.run(&args)
    };
    let add = |tag: &str| -> String {
        let (title, validate) = (format!("Write note {tag} into the notes folder"), format!("test -f notes/{tag}.txt"));
        let criteria = format!("notes/{tag}.txt exists and holds the line 'note {tag}'");
        let task = ["task", "add", "--title", &title, "--criteria", &criteria, "--risk", "low", "--json"];
        let added = on(&[&["--repo", url.as_str()][..], &task[..], &["--validate", &validate]].concat()).ok();
        let added: Value = serde_json::from_str(&added).unwrap();
        added["id"].as_str().unwrap().parse::<ambidex::protocol::TaskId>().unwrap().short().to_lowercase()
    };
    let (blocked, refused) = (add("n001"), add("n002"));
    // The remote already has a ref where the first task's private refs would go (so none of them
    // can be made there), and a branch of the second task's name that is not ours.
    let remote = git2::Repository::open_bare(&bare).unwrap();
    let other = unrelated_commit(&remote);
    remote.reference(&format!("refs/ambidex/{blocked}"), other, false, "in the way").unwrap();
    remote.reference(&format!("refs/heads/ambidex/{refused}/production"), other, false, "not ours").unwrap();

    let cache = a.path("cache").display().to_string();
    let done = on(&["worker", "--approve", "all", "--exit-when-idle", "--repos", &cache]).ok();
    assert_eq!(done.matches("PR ready").count(), 2, "both tasks were delivered all the same: {done}");

    let log = on(&["audit", "log", "--all", "--json"]).ok();
    let events: Vec<Value> = log.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let notes_of = |short: &str| -> Vec<String> {
        events
            .iter()
            .filter(|e| e["task"].as_str().unwrap_or_default().to_lowercase().ends_with(short))
            .filter(|e| e["kind"]["type"] == "note")
            .map(|e| e["kind"]["text"].as_str().unwrap().to_owned())
            .collect()
    };
    let blocked_notes = notes_of(&blocked);
    assert!(
        blocked_notes.iter().any(|n| n.starts_with("the task's checkpoints were not pushed to file://")
            && n.contains("another machine cannot resume it")),
        "{blocked_notes:?}"
    );
    assert_eq!(blocked_notes.len(), 1, "said once, not at every checkpoint: {blocked_notes:?}");
    assert!(blocked_notes[0].len() < 600, "git's words are cut to the cause: {}", blocked_notes[0]);
    let refused_notes = notes_of(&refused);
    assert!(
        refused_notes
            .iter()
            .any(|n| n.starts_with("the task's branch was not pushed") && n.contains("its checkpoints were")),
        "{refused_notes:?}"
    );
    assert!(!refused_notes.iter().any(|n| n.contains("checkpoints were not pushed")), "{refused_notes:?}");

    // What the remote holds: none of the first task's refs; the second's checkpoints, and the
    // branch that was not ours left as it was (never forced).
    let refs = |prefix: &str| remote.references_glob(&format!("{prefix}*")).unwrap().count();
    assert_eq!(refs(&format!("refs/ambidex/{blocked}/")), 0);
    assert!(refs(&format!("refs/ambidex/{refused}/finished/")) > 0);
    let branch = remote.refname_to_id(&format!("refs/heads/ambidex/{refused}/production")).unwrap();
    assert_eq!(branch, other);
}
