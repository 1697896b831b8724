//! The foundation as a user meets it: the real binary, a real store file, real git repositories.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
}

use ambidex::protocol::{Actor, EventKind, NewEvent, TaskId, TaskSpec};
use ambidex::store::Store;
use redb::ReadableTable;
use support::cli::{Sandbox, fixture};

#[test]
fn help_lists_every_subcommand() {
    let sandbox = Sandbox::new();
    let help = sandbox.run(&["--help"]).ok();
    for command in ["tui", "task", "audit", "config", "doctor"] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
    for args in [["task", "--help"], ["audit", "--help"], ["config", "--help"]] {
        sandbox.run(&args).ok();
    }
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    let sandbox = Sandbox::new();
    // A pipe with no reader at all: the first line printed meets a closed pipe, as under `| head`.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_ambidex"))
        .args(["--state-dir", &sandbox.path("state").display().to_string(), "config", "show"])
        .current_dir(sandbox.path(""))
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn tasks_added_from_a_file_and_from_flags_are_listed_and_shown_with_history() {
    let sandbox = Sandbox::new();
    let added = sandbox.run(&["task", "add", "--file", &fixture("good.md")]).ok();
    assert!(added.contains("added task"), "{added}");
    sandbox
        .run(&["task", "add", "--title", "Speed up the build", "--criteria", "CI under 5 minutes", "--risk", "medium"])
        .ok();

    let table = sandbox.run(&["task", "list"]).ok();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("ID") && lines[0].contains("STATUS") && lines[0].contains("TITLE"));
    assert!(lines[1].contains("queued") && lines[1].contains("bug_fix") && lines[1].contains("Fix the off-by-one"));
    assert!(lines[2].contains("medium") && lines[2].contains("Speed up the build"));

    let json: serde_json::Value = serde_json::from_str(&sandbox.run(&["task", "list", "--json"]).ok()).unwrap();
    let tasks = json.as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0]["spec"]["acceptance_criteria"].as_array().unwrap().len(), 2);
    let repo = std::fs::canonicalize(sandbox.repo()).unwrap();
    assert_eq!(tasks[1]["spec"]["repo"], repo.display().to_string(), "flags default to the current repository");

    let newest = sandbox.run(&["task", "list", "--limit", "1"]).ok();
    assert!(newest.contains("Speed up the build") && !newest.contains("Fix the off-by-one"), "{newest}");
    let note = newest.lines().last().unwrap();
    assert!(note.starts_with("showing the newest 1 of 2 tasks; --all for every one, or --before "), "{note}");
    let cursor = note.rsplit("--before ").next().unwrap().split_whitespace().next().unwrap();
    let older = sandbox.run(&["task", "list", "--limit", "1", "--before", cursor]).ok();
    assert!(older.contains("Fix the off-by-one") && !older.contains("showing"), "{older}");
    let medium = sandbox.run(&["task", "list", "--status", "queued,awaiting_gate", "--json"]).ok();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&medium).unwrap().as_array().unwrap().len(), 2);
    let none = sandbox.run(&["task", "list", "--status", "failed"]).ok();
    assert_eq!(none.trim(), "no tasks match");

    let id = tasks[0]["id"].as_str().unwrap();
    let short = &id[id.len() - 8..];
    let shown = sandbox.run(&["task", "show", short]).ok();
    assert!(
        shown.contains("Fix the off-by-one in pagination")
            && shown.contains("history (5 events)")
            && shown.contains("intake: Accepted")
            && shown.contains("triaged: bug_fix"),
        "{shown}"
    );
    assert!(shown.contains("#1") && shown.contains("created:"), "{shown}");
    let detail: serde_json::Value = serde_json::from_str(&sandbox.run(&["task", "show", id, "--json"]).ok()).unwrap();
    assert_eq!(detail["task"]["id"], id);
    assert_eq!(detail["events"][0]["kind"]["type"], "task_created");
    assert_eq!(detail["events"][0]["seq"], 1);

    let missing = sandbox.run(&["task", "show", "zzzzzzzz"]).fails();
    assert!(missing.contains("no task matches `zzzzzzzz`"), "{missing}");
}

#[test]
fn bad_task_files_are_refused_with_file_and_line_and_store_nothing() {
    let sandbox = Sandbox::new();
    let cases = [
        ("bad_toml.md", ":4:"),
        ("missing_objective.md", "missing `title`"),
        ("unknown_risk.md", ":3: unknown variant `severe`"),
        ("unknown_key.md", ":3: unknown field `acceptance`"),
    ];
    for (name, expected) in cases {
        let stderr = sandbox.run(&["task", "add", "--file", &fixture(name)]).fails();
        assert!(stderr.contains(name) && stderr.contains(expected), "{name}: {stderr}");
    }
    let stderr = sandbox.run(&["task", "add", "--file", "nowhere.md"]).fails();
    assert!(stderr.contains("nowhere.md: cannot read the task file"), "{stderr}");
    assert!(sandbox.run(&["task", "list"]).ok().starts_with("no tasks yet"));
}

#[test]
fn audit_verify_passes_then_names_the_event_whose_byte_was_flipped() {
    let sandbox = Sandbox::new();
    for title in ["one", "two", "three"] {
        sandbox.run(&["task", "add", "--title", title]).ok();
    }
    // Each `task add` records the task and intake's verdict on it.
    let ok = sandbox.run(&["audit", "verify"]).ok();
    assert!(ok.starts_with("ok: 9 events"), "{ok}");

    {
        const EVENTS: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("events");
        let db = redb::Builder::new()
            .set_concurrency_mode(redb::ConcurrencyMode::SingleWriter)
            .open(sandbox.store())
            .unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut events = txn.open_table(EVENTS).unwrap();
            let mut bytes = events.get(2).unwrap().unwrap().value().to_vec();
            let at = bytes.len() / 2 + 40;
            bytes[at] ^= 0x20;
            events.insert(2, bytes.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let run = sandbox.run(&["audit", "verify"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.starts_with("broken at event #2:"), "{}", run.stdout);
    let json: serde_json::Value = serde_json::from_str(&sandbox.run(&["audit", "verify", "--json"]).stdout).unwrap();
    assert_eq!(json["result"], "broken");
    assert_eq!(json["seq"], 2);
}

#[test]
fn config_show_names_the_source_of_every_key() {
    let sandbox = Sandbox::new();
    sandbox.write("config/ambidex/config.toml", "[tui]\ntheme = \"light\"\n");
    sandbox.write("repo/.ambidex/config.toml", "[engine]\nchallengers = 3\n");
    let shown = sandbox.run_with(&["-c", "api.port=9000", "config", "show"], &[("AMBIDEX_TUI__BELL", "false")]).ok();
    let line = |key: &str| shown.lines().find(|l| l.starts_with(&format!("{key} ="))).unwrap_or_default().to_owned();
    assert!(line("tui.theme").contains("\"light\"") && line("tui.theme").contains("# user file"), "{shown}");
    assert!(line("engine.challengers").contains("# repo file"), "{shown}");
    assert!(line("tui.bell").contains("# environment AMBIDEX_TUI__BELL"), "{shown}");
    assert!(line("api.port").contains("9000") && line("api.port").contains("# flag -c api.port=9000"), "{shown}");
    assert!(line("tui.osc9").contains("# built-in"), "{shown}");
}

#[test]
fn config_errors_name_file_line_and_key() {
    let sandbox = Sandbox::new();
    let path = sandbox.write("repo/.ambidex/config.toml", "[engine]\nchalengers = 3\n");
    let stderr = sandbox.run(&["config", "show"]).fails();
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    assert!(stderr.contains("line 2") && stderr.contains("key `engine.chalengers`"), "{stderr}");
    let stderr = sandbox.run(&["-c", "nonsense", "task", "list"]).fails();
    assert!(stderr.contains("expected KEY=VALUE"), "{stderr}");
}

#[test]
fn state_dir_comes_from_the_flag_or_the_environment() {
    let sandbox = Sandbox::new();
    let flag_dir = sandbox.path("flag-state");
    let env_dir = sandbox.path("env-state");
    sandbox.run(&["--state-dir", flag_dir.to_str().unwrap(), "task", "add", "--title", "x"]).ok();
    assert!(flag_dir.join("state.redb").exists());
    sandbox.run_with(&["task", "add", "--title", "y"], &[("AMBIDEX_STATE_DIR", env_dir.to_str().unwrap())]).ok();
    assert!(env_dir.join("state.redb").exists());
    assert!(!sandbox.store().exists());
}

#[test]
fn doctor_says_whether_keys_are_set_but_never_shows_them() {
    let sandbox = Sandbox::new();
    let secret = "sk-test-0123456789abcdefDOCTORSECRET";
    let report = sandbox.run_with(&["doctor"], &[("OPENAI_API_KEY", secret)]).ok();
    assert!(!report.contains(secret));
    assert!(report.contains("OPENAI_API_KEY set"), "{report}");
    assert!(report.contains("ANTHROPIC_API_KEY not set"), "{report}");
    assert!(report.contains("git version") && report.contains("best level here:"), "{report}");
    assert!(report.contains("not created yet"), "{report}");
    let json: serde_json::Value =
        serde_json::from_str(&sandbox.run_with(&["doctor", "--json"], &[("OPENAI_API_KEY", secret)]).ok()).unwrap();
    assert!(json["sandbox"]["best"].is_string());
    assert!(!json.to_string().contains(secret));
}

#[test]
fn read_only_commands_work_while_another_process_writes() {
    let sandbox = Sandbox::new();
    sandbox.run(&["task", "add", "--title", "before"]).ok();
    let store = Store::open(&sandbox.store()).unwrap();
    let id = TaskId::new();
    store
        .append(vec![NewEvent::for_task(
            id,
            Actor::Orchestrator,
            EventKind::TaskCreated { spec: TaskSpec::titled("live") },
        )])
        .unwrap();

    let listed = sandbox.run(&["task", "list"]).ok();
    assert!(listed.contains("before") && listed.contains("live"), "{listed}");
    sandbox.run(&["task", "show", &id.short()]).ok();
    assert!(sandbox.run(&["audit", "verify"]).ok().starts_with("ok: 4 events"));

    let stderr = sandbox.run(&["task", "add", "--title", "blocked"]).fails();
    assert!(stderr.contains("is in use by another Ambidex process"), "{stderr}");
    drop(store);
    sandbox.run(&["task", "add", "--title", "after"]).ok();
}

#[test]
fn a_damaged_store_file_is_a_clear_error() {
    let sandbox = Sandbox::new();
    sandbox.run(&["task", "add", "--title", "x"]).ok();
    let bytes = std::fs::read(sandbox.store()).unwrap();
    std::fs::write(sandbox.store(), &bytes[..bytes.len() / 3]).unwrap();
    for args in [&["task", "list"][..], &["task", "add", "--title", "y"][..]] {
        let stderr = sandbox.run(args).fails();
        assert!(stderr.contains(&sandbox.store().display().to_string()), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    std::fs::write(sandbox.store(), b"definitely not a database").unwrap();
    let stderr = sandbox.run(&["task", "list"]).fails();
    assert!(stderr.contains("damaged or is not an Ambidex store") && stderr.contains("move it aside"), "{stderr}");
}

#[test]
fn a_vague_task_is_revised_into_an_accepted_one_and_notes_show_in_its_history() {
    let sandbox = Sandbox::new();
    let added = sandbox.run(&["task", "add", "--title", "fix it"]).ok();
    assert!(added.contains("not accepted (needs_clarification)"), "{added}");
    assert!(added.contains("What observable result shows the task is done?"), "intake's questions: {added}");
    let tasks: serde_json::Value = serde_json::from_str(&sandbox.run(&["task", "list", "--json"]).ok()).unwrap();
    let id = tasks[0]["id"].as_str().unwrap().to_owned();
    let short = id[id.len() - 8..].to_lowercase();
    assert!(added.contains(&format!("ambidex task revise {short}")), "the answer says how to revise: {added}");

    let nothing = sandbox.run(&["task", "revise", &short]).fails();
    assert!(nothing.contains("nothing to revise") && nothing.contains("--criteria"), "{nothing}");
    let blank = sandbox.run(&["task", "revise", &short, "--title", "  "]).fails();
    assert!(blank.contains("the title is empty"), "{blank}");
    // A revision is held to the same size limits as a new task.
    let long = "x".repeat(600);
    let huge = sandbox.run(&["task", "revise", &short, "--title", &long]).fails();
    assert!(huge.contains("over the 500-character limit"), "{huge}");

    // A task file gives some fields (no title needed), a flag another; the rest stays.
    let answer = sandbox.write(
        "answer.md",
        "+++\nacceptance_criteria = [\"page_count(11, 5) returns 3\"]\nvalidation = [\"cargo test\"]\n+++\n",
    );
    let answer = answer.display().to_string();
    let title = "Fix page_count rounding for a partial last page";
    let revised = sandbox.run(&["task", "revise", &short, "--file", &answer, "--title", title]).ok();
    assert!(revised.starts_with(&format!("revised task {short} ({id}): {title}")), "{revised}");
    assert!(revised.contains("accepted by intake: queued"), "{revised}");
    let detail: serde_json::Value = serde_json::from_str(&sandbox.run(&["task", "show", &id, "--json"]).ok()).unwrap();
    let spec = &detail["task"]["spec"];
    assert_eq!((spec["title"].as_str(), spec["validation"][0].as_str()), (Some(title), Some("cargo test")));
    assert_eq!(spec["acceptance_criteria"][0], "page_count(11, 5) returns 3");
    assert_eq!(spec["source"]["type"], "manual", "where the task came from stays");
    let repo = std::fs::canonicalize(sandbox.repo()).unwrap();
    assert_eq!(spec["repo"], repo.display().to_string(), "fields not given stay");

    // The engine refuses what the state machine does not allow; nothing is stored.
    let events = detail["events"].as_array().unwrap().len();
    let queued = sandbox.run(&["task", "revise", &short, "--risk", "high"]).fails();
    assert!(queued.contains("is `queued`; only a task that needs clarification or was escalated"), "{queued}");
    sandbox.run(&["task", "cancel", &short]).ok();
    let cancelled = sandbox.run(&["task", "revise", &short, "--risk", "high"]).fails();
    assert!(cancelled.contains("is `cancelled`; only a task that needs clarification"), "{cancelled}");
    let after: serde_json::Value = serde_json::from_str(&sandbox.run(&["task", "show", &id, "--json"]).ok()).unwrap();
    assert_eq!(after["events"].as_array().unwrap().len(), events + 1, "only the cancel was stored");
    assert_eq!(after["task"]["spec"]["risk"], serde_json::Value::Null);

    // Notes: on any task, even a final one; blank ones are refused.
    let empty = sandbox.run(&["task", "note", &short, "  "]).fails();
    assert!(empty.contains("the note is empty"), "{empty}");
    let noted = sandbox.run(&["task", "note", &short, "the caller is in src/api.rs"]).ok();
    assert!(noted.starts_with(&format!("noted on task {short} as event #")), "{noted}");
    assert_eq!(noted.lines().count(), 1, "{noted}");
    let shown = sandbox.run(&["task", "show", &short]).ok();
    assert!(shown.contains("note: the caller is in src/api.rs"), "{shown}");
    assert!(
        shown.contains(&format!("revised: {title}")) && shown.contains("needs_clarification → received"),
        "{shown}"
    );
    let unknown = sandbox.run(&["task", "note", "zzzzzzzz", "hello"]).fails();
    assert!(unknown.contains("no task matches `zzzzzzzz`"), "{unknown}");
    assert!(sandbox.run(&["audit", "verify"]).ok().starts_with("ok:"));
}

#[test]
fn a_repository_named_by_url_is_kept_as_it_is_and_one_with_a_password_is_refused() {
    let sandbox = Sandbox::new();
    let url = "git@github.com:acme/app.git";
    let title = "Fix the page count";
    let added =
        sandbox.run(&["--repo", url, "task", "add", "--title", title, "--criteria", "tests pass", "--json"]).ok();
    let task: serde_json::Value = serde_json::from_str(&added).unwrap();
    assert_eq!(task["spec"]["repo"], url, "a URL is not made into a path");
    let secret = "https://bot:ghp_s3cr3t@github.com/acme/app.git";
    let refused = sandbox.run(&["--repo", secret, "task", "add", "--title", title, "--criteria", "tests pass"]).fails();
    assert!(refused.contains("holds a password") && refused.contains("credential helper"), "{refused}");
    assert!(!refused.contains("ghp_s3cr3t"), "{refused}");
    let listed = sandbox.run(&["task", "list"]).ok();
    assert_eq!(listed.matches(title).count(), 1, "nothing was added with the password: {listed}");
}
