//! The control room in a real terminal: tmux runs the binary, sends keys and reads the screen.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod engine;
    pub mod postgres;
}

use std::process::Command;
use std::time::{Duration, Instant};

use support::cli::Sandbox;

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(sandbox: &Sandbox, width: u16, height: u16) -> Tmux {
        Tmux::start_with(sandbox, width, height, &[])
    }

    /// Starts `ambidex ARGS…` in a fresh tmux server of the given size.
    fn start_with(sandbox: &Sandbox, width: u16, height: u16, args: &[&str]) -> Tmux {
        let socket = format!(
            "ambidex-test-{}-{}",
            std::process::id(),
            sandbox.dir.path().file_name().unwrap().to_string_lossy()
        );
        let binary = env!("CARGO_BIN_EXE_ambidex");
        let script = format!(
            "cd {repo} && env -u AMBIDEX_STATE_DIR HOME={home} XDG_CONFIG_HOME={config} XDG_DATA_HOME={data} {binary} {args}; echo EXITED:$?; sleep 60",
            args = args.join(" "),
            repo = sandbox.repo().display(),
            home = sandbox.path("home").display(),
            config = sandbox.path("config").display(),
            data = sandbox.path("data").display(),
        );
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .args(["sh", "-c", &script])
            .status()
            .expect("tmux must be installed (.ci/run installs it)");
        assert!(status.success());
        Tmux { socket }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux").args(["-L", &self.socket]).args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p"])
    }

    fn wait_for(&self, needle: &str) -> String {
        self.wait_for_any(&[needle], 30).1
    }

    /// Waits until one of `needles` is on screen; returns which and the screen.
    fn wait_for_any(&self, needles: &[&str], secs: u64) -> (usize, String) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let screen = self.screen();
            if let Some(found) = needles.iter().position(|n| screen.contains(n)) {
                return (found, screen);
            }
            assert!(Instant::now() < deadline, "none of {needles:?} appeared; screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until every one of `needles` is on the screen at once.
    fn wait_for_all(&self, needles: &[&str], secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let screen = self.screen();
            if needles.iter().all(|n| screen.contains(n)) {
                return screen;
            }
            assert!(Instant::now() < deadline, "not all of {needles:?} appeared; screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Types text literally (no key names).
    fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-l", text]);
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}

#[test]
fn the_control_room_lists_tasks_and_quits_restoring_the_terminal() {
    let sandbox = Sandbox::new();
    sandbox.run(&["task", "add", "--title", "Fix the flaky login test", "--risk", "low"]).ok();
    sandbox.run(&["task", "add", "--title", "Document the retry policy"]).ok();

    let tmux = Tmux::start(&sandbox, 100, 30);
    let screen = tmux.wait_for("Document the retry policy");
    assert!(screen.contains("Ambidex") && screen.contains("2 tasks"), "{screen}");
    assert!(screen.contains("Fix the flaky login test") && screen.contains("needs_clarifi"), "{screen}");
    assert_eq!(
        tmux.tmux(&["display", "-p", "#{alternate_on}"]).trim(),
        "1",
        "the control room uses the alternate screen"
    );

    tmux.keys(&["j", "k", "q"]);
    let screen = tmux.wait_for("EXITED:0");
    assert!(!screen.contains("Document the retry policy"), "the control room is gone after quitting:\n{screen}");
    assert_eq!(tmux.tmux(&["display", "-p", "#{alternate_on}"]).trim(), "0", "the alternate screen was left");
}

#[test]
fn a_task_added_in_the_form_passes_its_gates_with_y_and_reaches_a_pr() {
    let sandbox = Sandbox::new();
    support::engine::pagination_repo(&sandbox);
    let script = support::engine::script(&sandbox, "happy", &support::engine::happy_script());
    sandbox.write(
        "config/ambidex/config.toml",
        &format!(
            "[providers.script]\nkind = \"scripted\"\nscript = \"{}\"\n\n[models]\ndefault_provider = \"script\"\n\n\
             [tui]\nbell = false\nosc9 = false\n",
            script.display()
        ),
    );

    let tmux = Tmux::start(&sandbox, 140, 40);
    tmux.wait_for("No tasks yet");
    tmux.keys(&["n"]);
    tmux.wait_for("New task");
    tmux.type_text("Fix page_count in src/lib.rs so that a partial last page is counted instead of dropped");
    tmux.keys(&["Enter"]);
    tmux.type_text("page_count(11, 5) returns 3");
    tmux.keys(&["Enter"]);
    tmux.type_text("cargo test passes with the existing tests");
    tmux.keys(&["Tab", "Tab"]);
    tmux.type_text("m");
    tmux.keys(&["C-s"]);

    // Medium risk: the plan waits for a human; the overlay pops up and `y` approves it.
    let screen = tmux.wait_for_any(&["Approval: plan gate"], 60).1;
    assert!(screen.contains("page_count rounds down"), "the plan is shown with the gate:\n{screen}");
    tmux.keys(&["y"]);
    // Policy may ask for the PR too; approve every gate that comes until the PR is ready.
    loop {
        let (found, screen) = tmux.wait_for_any(&["pr_ready", "Approval: "], 240);
        if found == 0 {
            assert!(screen.contains("Fix page_count"), "{screen}");
            break;
        }
        tmux.keys(&["y"]);
        std::thread::sleep(Duration::from_millis(300));
    }
    let history = sandbox.run(&["task", "list", "--json"]).ok();
    assert!(history.contains("pr_ready"), "{history}");

    tmux.keys(&["q"]);
    let screen = tmux.wait_for("EXITED:0");
    assert!(!screen.contains("Right Hand"), "the control room is gone after quitting:\n{screen}");
    assert_eq!(tmux.tmux(&["display", "-p", "#{alternate_on}"]).trim(), "0", "the alternate screen was left");
    assert_eq!(tmux.tmux(&["display", "-p", "#{mouse_any_flag}"]).trim(), "0", "mouse reporting was turned off");
}

/// What the engineer says when sending the first plan back: only a planner whose instructions
/// carry it plays [`REPLAN`].
const SEND_BACK_NOTE: &str = "use usize::div_ceil, no hand-written rounding";

/// What the engineer says with the rewind (longer than [`SEND_BACK_NOTE`], so a planner whose
/// instructions carry both plays [`RETRY_PLAN`]: the longest phrase a script has wins).
const REWIND_NOTE: &str = "start over: keep the whole change to one line of src/lib.rs";

/// The plan made after the send-back.
const REPLAN: &str = r#"
[[turn]]
task = "use usize::div_ceil, no hand-written rounding"
role = "planner"
[[turn.tool_call]]
name = "submit_plan"
arguments = { summary = "Use usize::div_ceil as the engineer asked.", steps = ["src/lib.rs: items.div_ceil(size)"], expected_files = ["src/lib.rs"], validation = ["cargo test"], rollback = "revert the commit", confidence = 95 }
"#;

/// The plan made after the rewind.
const RETRY_PLAN: &str = r#"
[[turn]]
task = "start over: keep the whole change to one line of src/lib.rs"
role = "planner"
[[turn.tool_call]]
name = "submit_plan"
arguments = { summary = "One line: items.div_ceil(size), nothing else.", steps = ["src/lib.rs: one line"], expected_files = ["src/lib.rs"], validation = ["cargo test"], rollback = "revert the commit", confidence = 95 }
"#;

/// A task's events, as `ambidex task show --json` prints them.
fn task_events(sandbox: &Sandbox, id: &str) -> Vec<serde_json::Value> {
    let shown: serde_json::Value = serde_json::from_str(&sandbox.run(&["task", "show", id, "--json"]).ok()).unwrap();
    shown["events"].as_array().unwrap().clone()
}

#[test]
fn the_engineer_sends_a_plan_back_stops_the_next_messages_the_agents_and_rewinds_with_keys() {
    let sandbox = Sandbox::new();
    support::engine::pagination_repo(&sandbox);
    let turns = [support::engine::PLAN, REPLAN, RETRY_PLAN].concat();
    let script = support::engine::script(&sandbox, "voice", &turns);
    sandbox.write(
        "config/ambidex/config.toml",
        &format!(
            "[providers.script]\nkind = \"scripted\"\nscript = \"{}\"\n\n[models]\ndefault_provider = \"script\"\n\n\
             [engine]\nchallengers = 0\n\n[tui]\nbell = false\nosc9 = false\n",
            script.display()
        ),
    );
    // Decision keys are ignored for 400 ms after a gate pops the overlay up.
    let read_the_gate = || std::thread::sleep(Duration::from_millis(700));

    let tmux = Tmux::start(&sandbox, 140, 40);
    tmux.wait_for("No tasks yet");
    tmux.keys(&["n"]);
    tmux.wait_for("New task");
    tmux.type_text("Fix page_count in src/lib.rs so that a partial last page is counted instead of dropped");
    tmux.keys(&["Enter"]);
    tmux.type_text("page_count(11, 5) returns 3");
    tmux.keys(&["Tab", "Tab"]);
    tmux.type_text("h");
    tmux.keys(&["C-s"]);

    // High risk: the plan waits. `n` asks for the note, `enter` sends the plan back with it.
    // The plan shows in the stream before its gate opens: wait for both.
    tmux.wait_for_all(&["page_count rounds down", "Approval: plan gate"], 60);
    read_the_gate();
    tmux.keys(&["n"]);
    tmux.wait_for("enter sends it back");
    tmux.type_text(SEND_BACK_NOTE);
    tmux.keys(&["Enter"]);

    // The planner plans again with the note in its instructions; the new plan waits; `s` stops.
    tmux.wait_for_all(&["Use usize::div_ceil as the engineer asked", "Approval: plan gate"], 120);
    read_the_gate();
    tmux.keys(&["s"]);
    let listed =
        || -> serde_json::Value { serde_json::from_str(&sandbox.run(&["task", "list", "--json"]).ok()).unwrap() };
    let deadline = Instant::now() + Duration::from_secs(60);
    while listed()[0]["status"] != "failed" {
        assert!(Instant::now() < deadline, "the task did not stop: {}\n{}", listed(), tmux.screen());
        std::thread::sleep(Duration::from_millis(200));
    }
    let id = listed()[0]["id"].as_str().unwrap().to_owned();
    let screen = tmux.wait_for("failed");
    assert!(!screen.contains("Approval: "), "no gate waits after a stop:\n{screen}");

    // `m`: a message to the task's agents.
    tmux.keys(&["m"]);
    tmux.wait_for("Message to the agents of task");
    tmux.type_text("the rounding question is settled");
    tmux.keys(&["Enter"]);
    tmux.wait_for("message sent to task");

    // `w`: the stages with checkpoints, a note, a confirmation that says where the work goes.
    tmux.keys(&["w"]);
    let screen = tmux.wait_for("Rewind task");
    assert!(screen.contains("planner"), "the plan stage is offered:\n{screen}");
    tmux.keys(&["Enter"]);
    tmux.wait_for("what the rerun should do differently");
    tmux.type_text(REWIND_NOTE);
    tmux.keys(&["Enter"]);
    tmux.wait_for("kept, not deleted");
    tmux.keys(&["y"]);
    let (found, screen) = tmux.wait_for_any(&["rewound to the plan stage", "RewindTask:"], 60);
    assert_eq!(found, 0, "the engine takes the rewind:\n{screen}");
    // The task runs again from the plan stage with the rewind's note, and its new plan waits.
    tmux.wait_for_all(&["One line: items.div_ceil(size)", "Approval: plan gate"], 120);

    let events = task_events(&sandbox, &id);
    let of = |kind: &str| -> Vec<&serde_json::Value> { events.iter().filter(|e| e["kind"]["type"] == kind).collect() };
    let sent = of("sent_back");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        (sent[0]["kind"]["to"].as_str(), sent[0]["kind"]["note"].as_str()),
        (Some("plan"), Some(SEND_BACK_NOTE))
    );
    let stopped = of("status_changed")
        .into_iter()
        .filter(|e| e["kind"]["to"] == "failed")
        .map(|e| e["kind"]["reason"].as_str().unwrap_or_default())
        .collect::<Vec<_>>();
    assert_eq!(stopped, vec!["stopped by the engineer at the plan gate"], "{events:?}");
    let notes: Vec<&str> = of("note").iter().filter_map(|e| e["kind"]["text"].as_str()).collect();
    assert!(notes.contains(&"the rounding question is settled"), "{notes:?}");
    let rewound = of("rewound");
    assert_eq!(rewound.len(), 1, "{rewound:?}");
    assert_eq!(rewound[0]["kind"]["stage"], "plan");
    assert_eq!(rewound[0]["kind"]["note"], REWIND_NOTE);
    assert!(rewound[0]["kind"]["abandoned"].as_str().is_some_and(|r| r.contains("abandoned")), "{rewound:?}");
    assert_eq!(of("plan_submitted").len(), 3, "planned, planned again after the send-back, and after the rewind");

    // `esc` leaves the gate for later (sent apart from `q`: together they read as alt-q).
    tmux.keys(&["Escape"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while tmux.screen().contains("Approval: ") {
        assert!(Instant::now() < deadline, "esc did not close the overlay:\n{}", tmux.screen());
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux.keys(&["q"]);
    let (found, _) = tmux.wait_for_any(&["EXITED:0", "Quit"], 30);
    if found == 1 {
        tmux.keys(&["y"]);
    }
    tmux.wait_for("EXITED:0");
    assert_eq!(tmux.tmux(&["display", "-p", "#{alternate_on}"]).trim(), "0", "the alternate screen was left");
}

#[test]
fn a_bad_theme_or_keymap_is_named_before_the_terminal_is_touched() {
    let sandbox = Sandbox::new();
    let stderr = sandbox.run(&["--theme", "no-such-theme"]).fails();
    assert!(stderr.contains("theme `no-such-theme`") && stderr.contains("dark, light, high-contrast"), "{stderr}");
    let stderr = sandbox.run(&["tui", "--theme", "also-missing"]).fails();
    assert!(stderr.contains("theme `also-missing`"), "{stderr}");
    let stderr = sandbox.run(&["-c", "tui.keymap.aprove=y"]).fails();
    assert!(stderr.contains("unknown action `aprove`"), "{stderr}");
    let theme = sandbox.write("my-theme.toml", "inherits = \"light\"\n[scopes]\n\"ui.title\" = \"magenta\"\n");
    let stderr = sandbox.run(&["--theme", theme.to_str().unwrap()]).fails();
    assert!(stderr.contains("needs a terminal"), "a theme file that inherits a built-in one loads: {stderr}");
}

#[test]
fn the_demo_runs_both_hands_and_its_gates_are_approved_with_keys() {
    let sandbox = Sandbox::new();
    let tmux = Tmux::start_with(&sandbox, 160, 45, &["demo"]);
    let screen = tmux.wait_for_any(&["Demo: both tasks are running"], 180).1;
    assert!(screen.contains("approve") && screen.contains("quit"), "the banner tells the keys:\n{screen}");
    let demo_state = sandbox.path("data/ambidex/demo/state").display().to_string();
    let statuses = || -> Vec<String> {
        let listed = sandbox.run(&["--state-dir", &demo_state, "task", "list", "--json"]).ok();
        let tasks: serde_json::Value = serde_json::from_str(&listed).unwrap();
        tasks.as_array().unwrap().iter().map(|t| t["status"].as_str().unwrap().to_owned()).collect()
    };
    // Approve every gate as it opens (the plan, the promotion with its recommended option, the PRs).
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut approved = 0;
    loop {
        let statuses = statuses();
        if statuses.len() == 2 && statuses.iter().all(|s| s == "pr_ready") {
            break;
        }
        assert!(Instant::now() < deadline, "the demo did not finish: {statuses:?}\n{}", tmux.screen());
        if tmux.screen().contains("Approval: ") {
            tmux.keys(&["y"]);
            approved += 1;
            std::thread::sleep(Duration::from_millis(500));
        } else {
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    assert!(approved >= 2, "gates were approved with keys ({approved})");

    // The explored task's evidence and the side-by-side compare.
    tmux.keys(&["j", "3"]);
    let screen = tmux.wait_for_any(&["CANDIDATE"], 30).1;
    assert!(screen.contains("c1") && screen.contains("c2") && screen.contains("production"), "{screen}");
    tmux.keys(&["2"]);
    let screen = tmux.wait_for_any(&["Compare"], 30).1;
    assert!(screen.contains("c1") || screen.contains("c2"), "{screen}");

    let repo = git2::Repository::open(sandbox.path("data/ambidex/demo/textstats")).unwrap();
    let branches: Vec<String> = repo
        .branches(Some(git2::BranchType::Local))
        .unwrap()
        .map(|b| b.unwrap().0.name().unwrap().unwrap().to_owned())
        .collect();
    for suffix in ["/production", "/c1", "/c2", "/eval"] {
        assert!(branches.iter().any(|b| b.starts_with("ambidex/") && b.ends_with(suffix)), "{branches:?}");
    }

    tmux.keys(&["q"]);
    let (found, _) = tmux.wait_for_any(&["EXITED:0", "Quit"], 30);
    if found == 1 {
        tmux.keys(&["y"]);
    }
    tmux.wait_for_any(&["EXITED:0"], 30);
    assert_eq!(tmux.tmux(&["display", "-p", "#{alternate_on}"]).trim(), "0", "the alternate screen was left");
    assert_eq!(tmux.tmux(&["display", "-p", "#{mouse_any_flag}"]).trim(), "0", "mouse reporting was turned off");
}

#[test]
fn the_museum_tab_shows_an_exhibit_added_from_the_cli_with_its_case() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo();
    std::fs::write(repo.join("pages.txt"), "pages\n").unwrap();
    for args in [&["add", "."][..], &["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "pages"]]
    {
        assert!(Command::new("git").arg("-C").arg(&repo).args(args).status().unwrap().success());
    }
    sandbox
        .run(&[
            "museum",
            "add",
            "--title",
            "Empty pages vanish",
            "--command",
            "false",
            "--root-cause",
            "page_count rounds down",
        ])
        .ok();

    let tmux = Tmux::start(&sandbox, 120, 40);
    tmux.wait_for("Ambidex");
    tmux.keys(&["8"]);
    let screen =
        tmux.wait_for_all(&["Museum · 1 kept · 0 to review", "Empty pages vanish", "page_count rounds down"], 30);
    assert!(screen.contains("`false` on") && screen.contains("✓ verified"), "the reproducer and its check:\n{screen}");
    tmux.keys(&["Enter"]);
    tmux.wait_for("came from human, not from a task");
    tmux.keys(&["q"]);
    tmux.wait_for("EXITED:0");
}

#[test]
fn the_metrics_and_playbooks_tabs_read_the_engine_when_opened() {
    let sandbox = Sandbox::new();
    sandbox.run(&["task", "add", "--title", "Fix the flaky login test", "--risk", "low"]).ok();

    let tmux = Tmux::start(&sandbox, 100, 30);
    tmux.wait_for("Fix the flaky login test");
    tmux.keys(&["7"]);
    tmux.wait_for_all(&["Metrics · 1 task,", "Weekly trend", "Delivery"], 30);
    tmux.keys(&["9"]);
    // Whether the registry has versions yet or not, the title counts them once it is read.
    let screen = tmux.wait_for_all(&["Playbooks · ", " proposed · ", " versions"], 30);
    assert!(!screen.contains("reading…"), "{screen}");
    tmux.keys(&["q"]);
    tmux.wait_for("EXITED:0");
}

/// Opens the store with redb itself once no process holds it, and says whether redb had to
/// repair it (what a store closed without its clean-shutdown mark needs).
fn repaired_on_open(store: &std::path::Path) -> bool {
    let repaired = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let flag = repaired.clone();
        let mut builder = redb::Builder::new();
        builder.set_repair_callback(move |_| flag.store(true, std::sync::atomic::Ordering::SeqCst));
        match builder.open(store) {
            Ok(db) => {
                drop(db);
                return repaired.load(std::sync::atomic::Ordering::SeqCst);
            }
            Err(redb::DatabaseError::DatabaseAlreadyOpen) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(err) => panic!("the store did not open: {err}"),
        }
    }
}

#[test]
fn closing_the_terminal_window_leaves_the_store_closed_cleanly() {
    let sandbox = Sandbox::new();
    sandbox.run(&["task", "add", "--title", "Document the retry policy"]).ok();
    // Five times: before the fix, a hung-up terminal made the exit panic (and the store need a
    // repair) on some runs, not all.
    for _ in 0..5 {
        let tmux = Tmux::start(&sandbox, 100, 30);
        tmux.wait_for("Document the retry policy");
        drop(tmux);
        assert!(!repaired_on_open(&sandbox.store()), "the control room left the store to be repaired");
    }
}

#[test]
fn the_control_room_on_a_shared_store_shows_what_other_processes_do_live() {
    let sandbox = Sandbox::new();
    let url = support::postgres::Server::get().database();
    let setting = format!("store.url=\"{url}\"");
    let quoted = format!("'{setting}'");
    let tmux = Tmux::start_with(&sandbox, 120, 30, &["-c", &quoted, "-c", "api.enabled=false"]);
    let screen = tmux.wait_for("0 tasks");
    assert!(screen.contains(&url), "the header names the shared store: {screen}");

    // Another process, as on another machine, adds a task and then cancels it.
    let title = "Paginate the invoices export for the billing team";
    let added = sandbox.run(&["-c", &setting, "task", "add", "--title", title, "--risk", "low", "--json"]).ok();
    let id = serde_json::from_str::<serde_json::Value>(&added).unwrap()["id"].as_str().unwrap().to_owned();
    tmux.wait_for(title);
    sandbox.run(&["-c", &setting, "task", "cancel", &id]).ok();
    tmux.wait_for_all(&[title, "cancelled"], 30);
}
