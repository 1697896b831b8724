//! Tests of the conventions reader: AGENTS.md chain, caps, README setup sections.

use super::*;

#[test]
fn agents_files_from_the_root_down_to_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("crates/core/src")).unwrap();
    std::fs::create_dir_all(root.join("crates/other")).unwrap();
    std::fs::write(root.join("AGENTS.md"), "Root rules.").unwrap();
    std::fs::write(root.join("crates/core/AGENTS.md"), "Core rules.").unwrap();
    std::fs::write(root.join("crates/other/AGENTS.md"), "Not on the way.").unwrap();
    std::fs::write(root.join("CONTRIBUTING.md"), "x".repeat(10_000)).unwrap();
    std::fs::write(
        root.join("README.md"),
        "# Tool\nIntro.\n## Installation\nRun `make`.\n### From source\n```\n# not a heading\ncargo build\n```\n## Usage\nStuff.\n## Running the tests\n`cargo test`\n",
    )
    .unwrap();
    let docs = gather(root, Some(&root.join("crates/core/src")));
    let paths: Vec<&str> = docs.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, vec!["AGENTS.md", "crates/core/AGENTS.md", "CONTRIBUTING.md", "README.md"]);
    assert_eq!(docs[1].text, "Core rules.");
    assert!(docs[2].truncated);
    assert!(docs[2].text.len() <= CONTRIBUTING_CAP);
    assert_eq!(
        docs[3].text,
        "## Installation\nRun `make`.\n### From source\n```\n# not a heading\ncargo build\n```\n\n## Running the tests\n`cargo test`"
    );
    // Outside the root or without a working directory, only the root's AGENTS.md counts.
    let docs = gather(root, Some(std::path::Path::new("/elsewhere")));
    assert_eq!(docs.iter().filter(|d| d.kind == "agents").count(), 1);
}

#[test]
fn capping_respects_char_and_line_boundaries() {
    assert_eq!(cap("short", 10), ("short".into(), false));
    let (text, cut) = cap("line one\nline two\nline three", 20);
    assert!(cut);
    assert_eq!(text, "line one\nline two");
    let (text, cut) = cap("ééééé", 3);
    assert!(cut);
    assert_eq!(text, "é");
}

#[test]
fn an_empty_directory_has_no_conventions() {
    let dir = tempfile::tempdir().unwrap();
    assert!(gather(dir.path(), None).is_empty());
    assert_eq!(setup_sections("# Title\nno setup here\n"), "");
}
