//! `ambidex context` and `ambidex search` end to end: the real binary, an isolated HOME and XDG
//! directories, no AMBIDEX_* variables, fixture repositories with real commits.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod repos;
}

use support::cli::Sandbox;
use support::repos::project;

fn tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

#[test]
fn context_prints_the_summary_and_reuses_the_tag_cache() {
    let sandbox = Sandbox::new();
    let fixture = project("rust");
    let repo = fixture.path().to_str().unwrap();
    let run = sandbox.run(&["--repo", repo, "context"]);
    let stderr = run.stderr.clone();
    let stdout = run.ok();
    for part in
        ["Test: `cargo test`", "CI: .github/workflows/ci.yml", "### AGENTS.md", "## Symbol map", "│impl EventStore {"]
    {
        assert!(stdout.contains(part), "missing {part:?}:\n{stdout}");
    }
    assert!(stderr.contains("(0 from the tag cache, 6 tagged)"), "{stderr}");
    assert!(sandbox.path("data/ambidex/cache/tags.redb").is_file());

    let again = sandbox.run(&["--repo", repo, "context"]);
    assert!(again.stderr.contains("(6 from the tag cache, 0 tagged)"), "{}", again.stderr);
    assert_eq!(again.ok(), stdout);

    let fresh = sandbox.run(&["--repo", repo, "context", "--no-cache"]);
    assert!(fresh.stderr.contains("0 from the tag cache"), "{}", fresh.stderr);
}

#[test]
fn context_json_focus_and_budget() {
    let sandbox = Sandbox::new();
    let fixture = project("typescript");
    let repo = fixture.path().to_str().unwrap();
    let out = sandbox.run(&["--repo", repo, "context", "--json", "--focus", "src/cli.ts", "--budget", "200"]).ok();
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["test_commands"][0]["command"], "npm test");
    assert_eq!(json["ranked_symbols"][0]["name"], "runEngine");
    assert!(tokens(json["symbol_map"].as_str().unwrap()) <= 200);
    assert_eq!(json["ci"][0]["jobs"][0]["id"], "test");

    let small = sandbox.run(&["--repo", repo, "context", "--budget", "150"]).ok();
    assert!(tokens(&small) <= 150, "{} tokens:\n{small}", tokens(&small));

    // Focus paths are relative to where the command runs.
    let mut command = sandbox.command(&["context", "--json", "--focus", "cli.ts"]);
    command.current_dir(fixture.file("src"));
    let output = command.output().unwrap();
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["ranked_symbols"][0]["name"], "runEngine");
    assert_eq!(json["notes"].as_array().unwrap().len(), 0, "{}", json["notes"]);

    let unknown = sandbox.run(&["--repo", repo, "context", "--focus", "nothing_like_this"]).ok();
    assert!(unknown.contains("focus matched no file and no defined symbol: nothing_like_this"));
}

#[test]
fn context_on_a_missing_path_fails_with_a_message() {
    let sandbox = Sandbox::new();
    let missing = sandbox.path("missing");
    let stderr = sandbox.run(&["--repo", missing.to_str().unwrap(), "context"]).fails();
    assert!(stderr.contains("cannot read"), "{stderr}");
}

#[test]
fn search_prints_numbered_lines_and_bounds_its_output() {
    let sandbox = Sandbox::new();
    let fixture = project("rust");
    fixture.write(".gitignore", "ignored/\n");
    fixture.write("ignored/copy.rs", "fn append_event() {}\n");
    let repo = fixture.path().to_str().unwrap();
    let out = sandbox.run(&["--repo", repo, "search", "fn append_event"]).ok();
    let line = std::fs::read_to_string(fixture.file("src/store.rs"))
        .unwrap()
        .lines()
        .position(|l| l.contains("fn append_event"))
        .unwrap()
        + 1;
    assert_eq!(out, format!("src/store.rs:{line}:    pub fn append_event(&mut self, event: Event) {{\n"));

    let context = sandbox.run(&["--repo", repo, "search", "-C", "1", "--glob", "*.rs", "fn append_event"]).ok();
    assert_eq!(context.lines().count(), 3, "{context}");

    let bounded = sandbox.run(&["--repo", repo, "search", "--max", "2", "append_event"]).ok();
    assert_eq!(bounded.lines().filter(|l| !l.starts_with('[')).count(), 2, "{bounded}");
    assert!(bounded.contains("[showing 2 of"), "{bounded}");

    let none = sandbox.run(&["--repo", repo, "search", "no_such_text_anywhere"]);
    assert_eq!(none.code, 1);
    assert!(none.stdout.contains("no match in"), "{}", none.stdout);

    let bad = sandbox.run(&["--repo", repo, "search", "(unclosed"]).fails();
    assert!(bad.contains("invalid pattern"), "{bad}");

    let json = sandbox.run(&["--repo", repo, "search", "--json", "-i", "EVENT_COUNT"]).ok();
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(json["total_matches"].as_u64().unwrap() >= 4);
    assert!(json["truncated"].is_null());
}
