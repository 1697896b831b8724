//! Tests of discovery: manifests, build and test commands per ecosystem, targets, test files.

use super::*;
use crate::context::walk::walk;

fn discover_tree(files: &[(&str, &str)]) -> Discovery {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let walked = walk(dir.path(), 1);
    discover(dir.path(), &walked.files)
}

fn commands(hints: &[CommandHint]) -> Vec<String> {
    hints
        .iter()
        .map(|h| if h.dir.is_empty() { h.command.clone() } else { format!("{} (in {})", h.command, h.dir) })
        .collect()
}

#[test]
fn cargo_workspaces_and_nested_crates() {
    let found = discover_tree(&[
        ("Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\n"),
        ("crates/a/Cargo.toml", "[package]\nname = \"a\"\n"),
        ("crates/a/src/lib.rs", "pub fn a() {}\n"),
        ("crates/a/tests/it.rs", "#[test] fn t() {}\n"),
    ]);
    assert_eq!(commands(&found.test_commands), vec!["cargo test --workspace"]);
    assert_eq!(commands(&found.build_commands), vec!["cargo build --workspace"]);
    assert_eq!(found.test_frameworks, vec!["cargo test (libtest)"]);
    assert_eq!(found.test_files.examples, vec!["crates/a/tests/it.rs"]);
    let manifests: Vec<&str> = found.manifests.iter().map(|m| m.path.as_str()).collect();
    assert_eq!(manifests, vec!["Cargo.toml", "crates/a/Cargo.toml"]);
    assert_eq!(found.languages[0].name, "Rust");
}

#[test]
fn npm_scripts_runner_and_frameworks() {
    let found = discover_tree(&[
        ("package.json", r#"{"scripts": {"test": "vitest run", "build": "tsc"}, "devDependencies": {"vitest": "1"}}"#),
        ("pnpm-lock.yaml", ""),
        ("src/app.test.ts", "test('x', () => {})\n"),
        ("tools/package.json", r#"{"scripts": {"test": "echo \"Error: no test specified\" && exit 1"}}"#),
    ]);
    assert_eq!(commands(&found.test_commands), vec!["pnpm test"]);
    assert_eq!(found.test_commands[0].source, "package.json scripts.test (`vitest run`)");
    assert_eq!(commands(&found.build_commands), vec!["pnpm run build"]);
    assert_eq!(found.test_frameworks, vec!["vitest"]);
    assert_eq!(found.test_files.count, 1);
}

#[test]
fn python_pytest_or_unittest() {
    let pytest = discover_tree(&[
        ("pyproject.toml", "[project]\nname = \"p\"\n[tool.pytest.ini_options]\n"),
        ("tests/test_core.py", "def test_x(): pass\n"),
    ]);
    assert_eq!(commands(&pytest.test_commands), vec!["pytest"]);
    assert_eq!(commands(&pytest.build_commands), vec!["pip install -e ."]);
    let requirements = discover_tree(&[("requirements-dev.txt", "pytest==8\n"), ("app.py", "x = 1\n")]);
    assert_eq!(commands(&requirements.test_commands), vec!["pytest"]);
    let unittest = discover_tree(&[
        ("setup.cfg", "[metadata]\nname = p\n"),
        ("pkg/test_mod.py", "import unittest\n"),
        ("requirements.txt", "requests\n"),
    ]);
    assert_eq!(commands(&unittest.test_commands), vec!["python -m unittest"]);
    assert_eq!(commands(&unittest.build_commands), vec!["pip install -r requirements.txt"]);
}

#[test]
fn go_modules_and_make_and_just_targets() {
    let found = discover_tree(&[
        ("go.mod", "module example.com/x\n"),
        ("server_test.go", "package x\n"),
        (
            "Makefile",
            ".PHONY: test build\nVERSION := 1\nall: build\nbuild:\n\tgo build ./...\ntest: build\n\tgo test ./...\n%.o: %.c\n\tcc $<\n",
        ),
        (
            "justfile",
            "set shell := [\"bash\"]\nalias t := test\n# comment\ntest *args:\n  go test {{args}}\n@lint:\n  golangci-lint run\n",
        ),
    ]);
    assert_eq!(commands(&found.test_commands), vec!["make test", "just test", "go test ./..."]);
    assert_eq!(commands(&found.build_commands), vec!["make build", "go build ./..."]);
    assert_eq!(found.targets[0].targets, vec!["all", "build", "test"]);
    assert_eq!(found.targets[1].targets, vec!["test", "lint"]);
    assert_eq!(found.test_files.examples, vec!["server_test.go"]);
}

#[test]
fn test_file_conventions() {
    for yes in [
        "tests/cli.rs",
        "src/store_tests.rs",
        "pkg/test_mod.py",
        "pkg/mod_test.py",
        "a/b_test.go",
        "web/App.test.tsx",
        "web/__tests__/x.js",
        "lib/x.spec.ts",
    ] {
        assert!(is_test_file(yes), "{yes}");
    }
    for no in ["src/lib.rs", "tests/data.json", "src/testing.py", "README.md", "Makefile"] {
        assert!(!is_test_file(no), "{no}");
    }
}

#[test]
fn an_empty_tree_discovers_nothing() {
    let found = discover_tree(&[]);
    assert!(found.languages.is_empty());
    assert!(found.test_commands.is_empty());
    assert!(found.ci.is_empty());
}
