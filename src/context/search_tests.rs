//! Tests of bounded search: ignores, binaries, globs, context lines, truncation notes.

use super::*;

fn tree(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    // A repository, so that .gitignore applies (as with ripgrep).
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    for (rel, content) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

fn paths(results: &SearchResults) -> Vec<&str> {
    results.matches.iter().map(|m| m.path.as_str()).collect()
}

#[test]
fn finds_matches_with_line_numbers_respecting_ignores_and_binaries() {
    let dir = tree(&[
        ("src/a.rs", b"fn alpha() {}\nfn beta() { alpha() }\n"),
        ("src/b.py", b"def alpha():\n    pass\n"),
        ("target/gen.rs", b"fn alpha() {}\n"),
        (".hidden/x.rs", b"fn alpha() {}\n"),
        ("blob.bin", b"alpha\0\x01\x02"),
        (".gitignore", b"target/\n"),
        ("latin1.txt", b"caf\xe9 alpha\n"),
    ]);
    let results = search(dir.path(), &SearchQuery::new("alpha")).unwrap();
    assert_eq!(paths(&results), vec!["latin1.txt", "src/a.rs", "src/b.py"]);
    assert_eq!(results.total_matches, 4);
    assert_eq!(results.files_matched, 3);
    assert_eq!(results.skipped, 1, "the binary file");
    assert!(results.truncated.is_none());
    let a = &results.matches[1];
    assert_eq!(
        a.lines,
        vec![
            SearchLine { line: 1, text: "fn alpha() {}".into(), is_match: true },
            SearchLine { line: 2, text: "fn beta() { alpha() }".into(), is_match: true },
        ]
    );
    assert_eq!(results.matches[0].lines[0].text, "caf\u{fffd} alpha");
    assert!(results.render().starts_with("latin1.txt:1:caf"));
}

#[test]
fn globs_select_and_exclude_files() {
    let dir = tree(&[("src/a.rs", b"needle\n"), ("src/b.py", b"needle\n"), ("docs/c.md", b"needle\n")]);
    let only_rust = SearchQuery { globs: vec!["*.rs".into()], ..SearchQuery::new("needle") };
    assert_eq!(paths(&search(dir.path(), &only_rust).unwrap()), vec!["src/a.rs"]);
    let no_docs = SearchQuery { globs: vec!["!docs/**".into()], ..SearchQuery::new("needle") };
    assert_eq!(paths(&search(dir.path(), &no_docs).unwrap()), vec!["src/a.rs", "src/b.py"]);
    let bad = SearchQuery { globs: vec!["a{b".into()], ..SearchQuery::new("needle") };
    assert!(matches!(search(dir.path(), &bad), Err(ContextError::BadGlob(..))));
}

#[test]
fn context_lines_and_groups_render_like_ripgrep() {
    let text = (1..=20).map(|i| format!("line {i}\n")).collect::<String>();
    let dir = tree(&[("f.txt", text.as_bytes())]);
    let query = SearchQuery { context_lines: 1, ..SearchQuery::new("^line (3|4|10)$") };
    let results = search(dir.path(), &query).unwrap();
    assert_eq!(
        results.render(),
        "f.txt-2-line 2\nf.txt:3:line 3\nf.txt:4:line 4\nf.txt-5-line 5\n--\nf.txt-9-line 9\nf.txt:10:line 10\nf.txt-11-line 11\n"
    );
}

#[test]
fn output_is_bounded_with_a_note_on_how_to_narrow() {
    let many = "hit\n".repeat(50);
    let long = format!("hit {}\n", "x".repeat(1000));
    let dir = tree(&[("a.txt", many.as_bytes()), ("b.txt", long.as_bytes())]);
    let query = SearchQuery { max_matches: 10, max_line_len: 50, threads: 1, ..SearchQuery::new("hit") };
    let results = search(dir.path(), &query).unwrap();
    assert_eq!(results.shown_matches(), 10);
    assert_eq!(results.total_matches, 51);
    let note = results.truncated.as_deref().unwrap();
    assert!(note.contains("showing 10 of 51"), "{note}");
    assert!(note.contains("--glob"), "{note}");

    let long_only = SearchQuery { max_line_len: 50, globs: vec!["b.txt".into()], ..SearchQuery::new("hit") };
    let results = search(dir.path(), &long_only).unwrap();
    let line = &results.matches[0].lines[0].text;
    assert!(line.ends_with("…[+954 chars]"), "{line}");
    assert!(results.truncated.as_deref().unwrap().contains("cut"));
}

#[test]
fn no_match_bad_pattern_and_bad_root_are_explained() {
    let dir = tree(&[("a.txt", b"nothing here\n")]);
    let results = search(dir.path(), &SearchQuery::new("absent")).unwrap();
    assert_eq!(results.total_matches, 0);
    assert_eq!(results.files_searched, 1);
    assert!(results.render().contains("no match in 1 files searched"));
    assert!(matches!(search(dir.path(), &SearchQuery::new("(unclosed")), Err(ContextError::BadPattern(..))));
    assert!(matches!(
        search(&dir.path().join("missing"), &SearchQuery::new("x")),
        Err(ContextError::Unreadable { .. })
    ));
    assert!(matches!(search(&dir.path().join("a.txt"), &SearchQuery::new("x")), Err(ContextError::NotADirectory(_))));
    let literal = SearchQuery { fixed_strings: true, case_insensitive: true, ..SearchQuery::new("HERE\n".trim_end()) };
    assert_eq!(search(dir.path(), &literal).unwrap().total_matches, 1);
}

#[cfg(unix)]
#[test]
fn symlink_loops_are_not_followed() {
    let dir = tree(&[("a/x.txt", b"needle\n")]);
    std::os::unix::fs::symlink(dir.path().join("a"), dir.path().join("a/loop")).unwrap();
    let results = search(dir.path(), &SearchQuery::new("needle")).unwrap();
    assert_eq!(paths(&results), vec!["a/x.txt"]);
}
