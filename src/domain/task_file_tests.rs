use super::*;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tasks").join(name)
}

fn error_of(name: &str) -> TaskFileError {
    read_task_file(&fixture(name)).unwrap_err()
}

#[test]
fn a_complete_file_fills_every_field() {
    let spec = read_task_file(&fixture("good.md")).unwrap();
    assert_eq!(spec.title, "Fix the off-by-one in pagination");
    assert_eq!(spec.repo.as_deref(), Some("."));
    assert_eq!(spec.target_branch.as_deref(), Some("main"));
    assert_eq!(spec.acceptance_criteria.len(), 2);
    assert_eq!(spec.constraints, ["no new dependencies"]);
    assert_eq!(spec.out_of_scope, ["the HTTP layer"]);
    assert_eq!(spec.risk, Some(Risk::Low));
    assert_eq!(spec.kind, Some(TaskKind::BugFix));
    assert_eq!(spec.validation, ["cargo test"]);
    assert_eq!(spec.labels, ["bug"]);
    assert!(spec.description.starts_with("`paginate(items, page, size)`"));
    assert!(matches!(spec.source, TaskSource::File { ref path } if path.ends_with("good.md")));
}

#[test]
fn objective_is_an_alias_for_title_and_crlf_and_bom_are_fine() {
    let text = "\u{feff}+++\r\nobjective = \"Speed up the build\"\r\n+++\r\nBody\r\n";
    let spec = parse_task_file(text, "t.md").unwrap();
    assert_eq!(spec.title, "Speed up the build");
    assert_eq!(spec.description, "Body");
}

#[test]
fn bad_toml_names_the_file_and_line() {
    let err = error_of("bad_toml.md");
    assert!(err.path.ends_with("bad_toml.md"));
    assert_eq!(err.line, Some(4), "{err}");
}

#[test]
fn a_missing_objective_says_what_to_add() {
    let err = error_of("missing_objective.md");
    assert!(err.message.contains("missing `title` (or `objective`)"), "{err}");
}

#[test]
fn an_unknown_risk_lists_the_choices_on_its_line() {
    let err = error_of("unknown_risk.md");
    assert_eq!(err.line, Some(3), "{err}");
    assert!(err.message.contains("severe") && err.message.contains("critical"), "{err}");
}

#[test]
fn an_unknown_key_is_an_error_not_ignored() {
    let err = error_of("unknown_key.md");
    assert_eq!(err.line, Some(3), "{err}");
    assert!(err.message.contains("acceptance"), "{err}");
}

#[test]
fn yaml_and_unclosed_front_matter_explain_the_format() {
    assert!(error_of("yaml.md").message.contains("YAML front matter"));
    assert!(error_of("unclosed.md").message.contains("not closed"));
    assert!(parse_task_file("", "empty.md").unwrap_err().message.contains("no front matter"));
}

#[test]
fn unreadable_and_non_utf8_files_are_clear_errors() {
    let err = read_task_file(&fixture("does-not-exist.md")).unwrap_err();
    assert!(err.message.starts_with("cannot read the task file"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.md");
    std::fs::write(&path, b"+++\ntitle = \"caf\xe9\"\n+++\n").unwrap();
    assert!(read_task_file(&path).unwrap_err().message.contains("not UTF-8"));
}

#[test]
fn as_a_revision_only_the_keys_given_change_and_the_title_may_be_left_out() {
    let text = "+++\nacceptance_criteria = [\" page_count(11, 5) returns 3 \", \"\"]\nrisk = \"low\"\n+++\n";
    let changes = parse_task_file_changes(text, "answer.md").unwrap();
    assert_eq!(changes.acceptance_criteria, Some(vec!["page_count(11, 5) returns 3".to_owned()]));
    assert_eq!(changes.risk, Some(Risk::Low));
    assert_eq!((changes.title, changes.description, changes.validation), (None, None, None), "not given, not changed");

    let with_body = parse_task_file_changes("+++\ntitle = \"Fix it properly\"\n+++\nMore words.\n", "a.md").unwrap();
    assert_eq!(with_body.description.as_deref(), Some("More words."));
    let blank_title = parse_task_file_changes("+++\ntitle = \"  \"\n+++\n", "a.md").unwrap_err();
    assert!(blank_title.message.contains("missing `title`"), "{blank_title}");
    assert!(
        parse_task_file_changes("+++\nacceptance = [\"x\"]\n+++\n", "a.md").unwrap_err().message.contains("acceptance")
    );
}
