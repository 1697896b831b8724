//! Fixture repositories for judging real fixes (issue 18): a Rust crate and a Python package,
//! each with a bug, an existing test suite, an upstream fix branch whose test changes are the
//! acceptance tests (a new test file and a changed test), and candidate branches: the fix, a
//! wrong fix, a "fix" that breaks a function and deletes its test, and the test changes alone.
//!
//! The Rust crate collects `tests/cases/*.rs` at compile time through a build script that asks
//! to be rerun only when `build.rs` changes, as real crates do: cargo does not rebuild its test
//! binary when a file is added there, which is the stale-build trap.

#![allow(dead_code)]

use std::path::Path;

/// The crate at the base commit: `get_int` does not trim its input.
pub const RUST_BASE: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        "[package]\nname = \"calc\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n\n[dependencies]\n",
    ),
    (".gitignore", "/target\n"),
    (
        "build.rs",
        r##"use std::fmt::Write as _;
use std::path::Path;

// Every file of tests/cases/ becomes a module of the `cases` test binary. Only build.rs is
// declared as an input, so cargo does not rerun this when a case file is added.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let dir = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("tests/cases");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "rs").then(|| path.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    let mut out = String::new();
    for name in names {
        let path = dir.join(format!("{name}.rs")).display().to_string();
        writeln!(out, "#[path = {path:?}]\nmod {name};").unwrap();
    }
    std::fs::write(Path::new(&std::env::var("OUT_DIR").unwrap()).join("cases.rs"), out).unwrap();
}
"##,
    ),
    ("tests/cases.rs", "include!(concat!(env!(\"OUT_DIR\"), \"/cases.rs\"));\n"),
    ("tests/cases/basic.rs", "#[test]\nfn adds() {\n    assert_eq!(calc::add(1, 2), 3);\n}\n"),
    ("tests/cases/parse.rs", "#[test]\nfn parse_padded() {\n    assert_eq!(calc::get_int(\" 1 \"), None);\n}\n"),
    ("src/lib.rs", RUST_LIB),
];

pub const RUST_LIB: &str = "pub fn add(a: i64, b: i64) -> i64 {
    a + b
}

pub fn sub(a: i64, b: i64) -> i64 {
    a - b
}

pub fn get_int(text: &str) -> Option<i64> {
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtracts() {
        assert_eq!(sub(5, 3), 2);
    }

    #[test]
    fn parses() {
        assert_eq!(get_int(\"7\"), Some(7));
    }
}
";

/// The upstream fix's test changes: a new case file (collected at compile time) and a changed
/// expectation.
pub const RUST_TESTS: &[(&str, Option<&str>)] = &[
    (
        "tests/cases/get_int.rs",
        Some("#[test]\nfn get_int_trims() {\n    assert_eq!(calc::get_int(\" 42 \"), Some(42));\n}\n"),
    ),
    (
        "tests/cases/parse.rs",
        Some("#[test]\nfn parse_padded() {\n    assert_eq!(calc::get_int(\" 1 \"), Some(1));\n}\n"),
    ),
];

/// The acceptance tests as libtest names them.
pub const RUST_ACCEPTANCE: [&str; 2] = ["get_int::get_int_trims", "parse::parse_padded"];

pub fn rust_lib(get_int: &str, sub: &str, keep_sub_test: bool) -> String {
    let mut lib = RUST_LIB.replace("    text.parse().ok()\n", get_int).replace("    a - b\n", sub);
    if !keep_sub_test {
        lib = lib.replace("    #[test]\n    fn subtracts() {\n        assert_eq!(sub(5, 3), 2);\n    }\n\n", "");
    }
    lib
}

pub const TRIM: &str = "    text.trim().parse().ok()\n";
pub const TRIM_START: &str = "    text.trim_start().parse().ok()\n";
pub const SUB: &str = "    a - b\n";
pub const SUB_BROKEN: &str = "    a - b + 1\n";

/// The Python package at the base commit: `parse_stream` keeps `\r` of CRLF line ends.
pub const PY_BASE: &[(&str, &str)] = &[
    ("conftest.py", ""),
    (".gitignore", "__pycache__/\n.pytest_cache/\n"),
    ("textproc.py", PY_MODULE),
    ("tests/test_math.py", "from textproc import sub\n\n\ndef test_sub():\n    assert sub(5, 3) == 2\n"),
    (
        "tests/test_textproc.py",
        "from textproc import parse_stream\n\n\ndef test_parse_stream_keeps_cr():\n    assert parse_stream(\"a\\r\\nb\") == [\"a\\r\", \"b\"]\n",
    ),
];

pub const PY_MODULE: &str =
    "def sub(a, b):\n    return a - b\n\n\ndef parse_stream(text):\n    return text.split(\"\\n\")\n";

/// The upstream fix's test changes: a new parametrised test file and a changed expectation.
pub const PY_TESTS: &[(&str, Option<&str>)] = &[
    (
        "tests/test_parser.py",
        Some(
            "import pytest\n\nfrom textproc import parse_stream\n\n\n\
             @pytest.mark.parametrize(\"text\", [\"a\\nb\", \"a\\r\\nb\"], ids=[\"lf\", \"crlf\"])\n\
             def test_parse_stream(text):\n    assert parse_stream(text) == [\"a\", \"b\"]\n",
        ),
    ),
    (
        "tests/test_textproc.py",
        Some(
            "from textproc import parse_stream\n\n\ndef test_parse_stream_keeps_cr():\n    assert parse_stream(\"a\\r\\nb\") == [\"a\", \"b\"]\n",
        ),
    ),
];

pub fn py_module(split: &str, sub: &str) -> String {
    PY_MODULE.replace("    return text.split(\"\\n\")\n", split).replace("    return a - b\n", sub)
}

pub const PY_FIX: &str = "    return text.splitlines()\n";
pub const PY_WRONG: &str = "    return text.split(\"\\r\\n\")\n";
pub const PY_SUB_BROKEN: &str = "    return a - b + 1\n";

/// Writes `files` (`None` deletes) into the repository at `dir` and commits them on HEAD.
pub fn commit(dir: &Path, files: &[(&str, Option<&str>)], message: &str) -> git2::Oid {
    for (path, text) in files {
        let full = dir.join(path);
        match text {
            Some(text) => {
                std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                std::fs::write(&full, text).unwrap();
            }
            None => std::fs::remove_file(&full).unwrap(),
        }
    }
    let repo = git2::Repository::open(dir).unwrap();
    let mut index = repo.index().unwrap();
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
    index.update_all(["*"], None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let me = git2::Signature::now("Dev", "dev@example.com").unwrap();
    let parents: Vec<git2::Commit> = repo.head().ok().and_then(|h| h.peel_to_commit().ok()).into_iter().collect();
    let parents: Vec<&git2::Commit> = parents.iter().collect();
    repo.commit(Some("HEAD"), &me, &me, message, &tree, &parents).unwrap()
}

/// Commits `files` on top of `base`, names the commit `branch`, and puts HEAD back on `base`.
pub fn branch(dir: &Path, base: git2::Oid, name: &str, files: &[(&str, Option<&str>)]) {
    let tip = commit(dir, files, name);
    let repo = git2::Repository::open(dir).unwrap();
    repo.branch(name, &repo.find_commit(tip).unwrap(), true).unwrap();
    let base = repo.find_commit(base).unwrap();
    repo.reset(base.as_object(), git2::ResetType::Hard, None).unwrap();
}

fn owned<'a>(files: &'a [(&'a str, &'a str)]) -> Vec<(&'a str, Option<&'a str>)> {
    files.iter().map(|(p, t)| (*p, Some(*t))).collect()
}

/// The Rust fixture in the repository at `dir` (a fresh `git init`): the base commit, and the
/// branches `upstream-fix`, `upstream-tests`, `wrong`, `deleter`. Returns the base commit.
pub fn rust_repo(dir: &Path) -> git2::Oid {
    let base = commit(dir, &owned(RUST_BASE), "calc");
    let fix = rust_lib(TRIM, SUB, true);
    let mut upstream: Vec<(&str, Option<&str>)> = RUST_TESTS.to_vec();
    upstream.push(("src/lib.rs", Some(&fix)));
    branch(dir, base, "upstream-fix", &upstream);
    branch(dir, base, "upstream-tests", RUST_TESTS);
    let wrong = rust_lib(TRIM_START, SUB, true);
    branch(dir, base, "wrong", &[("src/lib.rs", Some(&wrong))]);
    let deleter = rust_lib(TRIM, SUB_BROKEN, false);
    branch(dir, base, "deleter", &[("src/lib.rs", Some(&deleter))]);
    base
}

/// The Python fixture, like [`rust_repo`].
pub fn python_repo(dir: &Path) -> git2::Oid {
    let base = commit(dir, &owned(PY_BASE), "textproc");
    let fix = py_module(PY_FIX, "    return a - b\n");
    let mut upstream: Vec<(&str, Option<&str>)> = PY_TESTS.to_vec();
    upstream.push(("textproc.py", Some(&fix)));
    branch(dir, base, "upstream-fix", &upstream);
    branch(dir, base, "upstream-tests", PY_TESTS);
    let wrong = py_module(PY_WRONG, "    return a - b\n");
    branch(dir, base, "wrong", &[("textproc.py", Some(&wrong))]);
    let deleter = py_module(PY_FIX, PY_SUB_BROKEN);
    branch(dir, base, "deleter", &[("textproc.py", Some(&deleter)), ("tests/test_math.py", None)]);
    base
}

/// A Python with pytest: `$PYTEST_PYTHON`, else `python3`, else the system's `/usr/bin/python3`
/// (where `.ci/run` installs `python3-pytest`, when a version manager shadows it on the PATH);
/// `None` (say why) when none has it.
pub fn python_with_pytest() -> Option<String> {
    let candidates =
        std::env::var("PYTEST_PYTHON").into_iter().chain(["python3".to_owned(), "/usr/bin/python3".to_owned()]);
    for python in candidates {
        let ok = std::process::Command::new(&python)
            .args(["-m", "pytest", "--version"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(python);
        }
    }
    eprintln!(
        "SKIPPED: no Python with pytest (tried $PYTEST_PYTHON, python3 and /usr/bin/python3): the pytest runner is not exercised here; \
         the JUnit parsing of parametrised node ids is tested with recorded pytest XML in tests/eval_parsers.rs"
    );
    None
}
