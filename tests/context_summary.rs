//! The repository summary: discovery (test commands, CI jobs, manifests), conventions, history
//! and churn on fixture repositories; the rendered summary under a budget; and bad input:
//! binary, huge and non-UTF-8 files, symlink loops, empty repositories, repositories without
//! commits, directories that are not repositories, paths that do not exist.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod repos;
}

use ambidex::context::{ContextError, ContextOptions, RepoContext};
use support::repos::{FixtureRepo, LANGUAGES, expect, project};

fn gather(root: &std::path::Path) -> RepoContext {
    RepoContext::gather(root, &ContextOptions::default()).unwrap()
}

fn tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

#[test]
fn discovery_finds_the_test_command_and_ci_jobs_in_every_language() {
    for language in LANGUAGES {
        let fixture = project(language);
        let e = expect(language);
        let summary = gather(fixture.path());
        let d = &summary.discovery;
        assert_eq!(
            d.test_commands.first().map(|c| c.command.as_str()),
            Some(e.test_command),
            "{language}: {:?}",
            d.test_commands
        );
        let jobs: Vec<&str> = d.ci.iter().flat_map(|c| c.jobs.iter().map(|j| j.id.as_str())).collect();
        assert_eq!(jobs, e.ci_jobs, "{language}");
        assert!(!d.manifests.is_empty(), "{language}");
        assert!(d.test_files.count >= 1, "{language}: {:?}", d.test_files);
        let top_language = &d.languages[0].name;
        let wanted = match language {
            "rust" => "Rust",
            "python" => "Python",
            "javascript" => "JavaScript",
            "typescript" => "TypeScript",
            _ => "Go",
        };
        assert_eq!(top_language, wanted);
        assert_eq!(summary.conventions[0].path, "AGENTS.md");
        assert!(summary.conventions[0].text.contains("Run the tests"));

        // Three commits, the store file in all of them.
        let h = &summary.history;
        assert_eq!(h.commits.len(), 3, "{language}");
        assert_eq!(h.commits[0].summary, "Touch the store again");
        assert_eq!(h.commits[0].author, "Fixture Author");
        let store = &h.churn[0];
        assert!(store.path.contains("store"), "{language}: {:?}", h.churn);
        assert_eq!(store.commits, 3);
        assert_eq!(h.recent_files[0], store.path);
        assert!(h.branch.is_some());
    }
}

#[test]
fn the_rendered_summary_has_every_section_and_respects_the_budget() {
    let fixture = project("rust");
    let summary = gather(fixture.path());
    let text = summary.render(4096);
    for part in [
        "Languages: Rust",
        "Manifests: Cargo.toml",
        "Build: `cargo build`",
        "Test: `cargo test`",
        "CI: .github/workflows/ci.yml \"CI\": build (Build), test",
        "Recent commits on ",
        "Most changed",
        "## Conventions",
        "### AGENTS.md",
        "## Symbol map",
        "│impl EventStore {",
    ] {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
    assert!(tokens(&text) <= 4096);
    for budget in [20, 100, 200, 400, 800] {
        let text = summary.render(budget);
        assert!(tokens(&text) <= budget, "{budget}: {} tokens:\n{text}", tokens(&text));
    }
    let json = summary.to_json(300);
    assert_eq!(json["test_commands"][0]["command"], "cargo test");
    assert!(json["symbol_map"].as_str().unwrap().contains("EventStore"));
    assert!(tokens(json["symbol_map"].as_str().unwrap()) <= 300);
    assert!(!json["ranked_symbols"].as_array().unwrap().is_empty());
    assert_eq!(json["index"]["cache_misses"], json["index"]["source_files"]);
}

#[test]
fn bad_files_are_skipped_counted_and_reported() {
    let fixture = project("rust");
    fixture.write_bytes("src/blob.rs", b"fn a() {}\0\0\x01binary");
    let huge = format!("// {}\nfn huge_fn() {{}}\n", "x".repeat(1024 * 1024));
    fixture.write("src/huge.rs", &huge);
    fixture.write_bytes("src/latin.py", b"# caf\xe9\ndef latin_fn():\n    pass\n");
    std::fs::create_dir_all(fixture.file("loop")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(fixture.file("loop"), fixture.file("loop/again")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(fixture.file("missing"), fixture.file("src/dangling.rs")).unwrap();
    let summary = gather(fixture.path());
    let skipped = &summary.index.skipped;
    assert_eq!((skipped.binary, skipped.too_large), (1, 1), "{skipped:?}");
    assert!(summary.notes.iter().any(|n| n.contains("over 1 MiB")), "{:?}", summary.notes);
    assert!(summary.render(4096).contains("1 over 1 MiB"));
    assert!(summary.map().lookup("latin_fn", 5).len() == 1);
    assert!(summary.map().lookup("huge_fn", 5).is_empty());
}

#[test]
fn empty_and_commitless_repositories_and_plain_directories() {
    let empty = FixtureRepo::empty();
    let summary = gather(empty.path());
    assert_eq!(summary.files, 0);
    assert_eq!(summary.history.note.as_deref(), Some("the repository has no commits yet"));
    assert!(summary.notes.iter().any(|n| n.contains("no files")));
    let text = summary.render(1000);
    assert!(text.contains("no commits yet"), "{text}");
    assert!(!text.contains("## Symbol map"));

    let uncommitted = FixtureRepo::empty();
    uncommitted.write("main.go", "package main\nfunc main() {}\n");
    let summary = gather(uncommitted.path());
    assert_eq!(summary.files, 1);
    assert!(summary.history.commits.is_empty());
    assert_eq!(summary.map().ranked(5)[0].name, "main");

    let plain = tempfile::tempdir().unwrap();
    std::fs::write(plain.path().join("x.py"), "def f(): pass\n").unwrap();
    let summary = gather(plain.path());
    assert_eq!(summary.history.note.as_deref(), Some("not a git repository: no history"));
    assert_eq!(summary.discovery.languages[0].name, "Python");

    let missing = plain.path().join("missing");
    assert!(matches!(RepoContext::gather(&missing, &ContextOptions::default()), Err(ContextError::Unreadable { .. })));
    assert!(matches!(
        RepoContext::gather(&plain.path().join("x.py"), &ContextOptions::default()),
        Err(ContextError::NotADirectory(_))
    ));
}

#[test]
fn a_subdirectory_root_reports_history_relative_to_it() {
    let fixture = project("go");
    let summary = gather(&fixture.file("store"));
    assert_eq!(summary.history.churn[0].path, "store.go");
    assert!(summary.history.recent_files.iter().all(|p| !p.starts_with("store/")));
}
