//! The bug museum from the command line, on a real crate with real history: an upstream fix
//! commit is kept only once its tests are seen to fail on the parent and pass on the fix; the
//! traps real repositories set (a filter that matches nothing, tests that pass before the fix, a
//! snapshot rewritten instead of failing) are refused with what to do; kept exhibits are
//! re-verified, exported, added by hand and removed.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
    pub mod engine;
}

use serde_json::Value;
use support::cli::Sandbox;
use support::engine::commit_all;

const BUGGY: &str = "/// Reads a signed big-endian integer of `n` bytes.
pub fn get_int(bytes: &[u8], n: usize) -> i64 {
    let mut v: u64 = 0;
    for b in &bytes[..n] {
        v = (v << 8) | u64::from(*b);
    }
    v as i64
}
";

const FIXED: &str = "/// Reads a signed big-endian integer of `n` bytes.
pub fn get_int(bytes: &[u8], n: usize) -> i64 {
    let mut v: u64 = 0;
    for b in &bytes[..n] {
        v = (v << 8) | u64::from(*b);
    }
    let shift = 64 - 8 * n as u32;
    ((v << shift) as i64) >> shift
}
";

/// A crate whose history holds a real fix: `base`, then `fix` (code and a new test), then a
/// commit that changes only tests, then one whose new test already passed before it.
fn bits_repo(sandbox: &Sandbox) {
    sandbox.write("repo/Cargo.toml", "[package]\nname = \"bits\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
    sandbox.write("repo/.gitignore", "/target\n");
    sandbox.write("repo/src/lib.rs", BUGGY);
    sandbox.write(
        "repo/tests/basic.rs",
        "#[test]\nfn reads_positive() {\n    assert_eq!(bits::get_int(&[1, 2], 2), 0x0102);\n}\n",
    );
    commit_all(&sandbox.repo(), "base");
    sandbox.write("repo/src/lib.rs", FIXED);
    sandbox.write(
        "repo/tests/sign.rs",
        "#[test]\nfn sign_extends() {\n    assert_eq!(bits::get_int(&[0xff, 0xfe], 2), -2);\n}\n",
    );
    commit_all(&sandbox.repo(), "Sign-extend get_int");
    sandbox.write(
        "repo/tests/basic.rs",
        "#[test]\nfn reads_positive() {\n    assert_eq!(bits::get_int(&[1, 2], 2), 258);\n}\n",
    );
    commit_all(&sandbox.repo(), "Tests only");
    sandbox
        .write("repo/src/lib.rs", &format!("{FIXED}\n/// One byte.\npub fn get_u8(b: &[u8]) -> u8 {{\n    b[0]\n}}\n"));
    sandbox.write("repo/tests/weak.rs", "#[test]\nfn reads_one() {\n    assert_eq!(bits::get_int(&[1], 1), 1);\n}\n");
    commit_all(&sandbox.repo(), "A test that passed before");
}

fn exhibits(sandbox: &Sandbox, all: bool) -> Vec<Value> {
    let args: &[&str] = if all { &["museum", "list", "--all", "--json"] } else { &["museum", "list", "--json"] };
    serde_json::from_str::<Value>(&sandbox.run(args).ok()).unwrap().as_array().unwrap().clone()
}

#[test]
fn an_upstream_fix_is_kept_only_when_its_tests_fail_before_it_and_pass_with_it() {
    let sandbox = Sandbox::new();
    bits_repo(&sandbox);
    let cmd = "cargo test --offline";
    // A filter that matches no test exits 0 on the parent: refused, not taken for a pass.
    let nothing =
        sandbox.run(&["museum", "import", "--fix", "HEAD~2", "--command", "cargo test --offline no_such_test"]);
    let said = nothing.fails();
    assert!(said.contains("ran no test with the bug") && said.contains("filter"), "{said}");

    let kept = sandbox.run(&["museum", "import", "--fix", "HEAD~2", "--command", cmd]).ok();
    assert!(kept.contains("is kept: Sign-extend get_int"), "{kept}");
    let listed = exhibits(&sandbox, false);
    assert_eq!(listed.len(), 1);
    let exhibit = &listed[0];
    assert_eq!(exhibit["reproducer"]["tests"], serde_json::json!(["sign_extends"]), "{exhibit:#}");
    assert!(exhibit["reproducer"]["tests_patch"].as_str().unwrap().contains("tests/sign.rs"));
    assert!(exhibit["fix_patch"].as_str().unwrap().contains("src/lib.rs"));
    assert!(!exhibit["fix_patch"].as_str().unwrap().contains("tests/sign.rs"), "the tests are not the fix");
    assert_eq!(exhibit["files"], serde_json::json!(["src/lib.rs"]));
    assert_eq!(exhibit["verification"]["reproduces"], true);
    assert_eq!(exhibit["source"]["type"], "imported");
    let id = exhibit["id"].as_str().unwrap().to_owned();

    // The other traps: each is refused, and nothing more is kept.
    let weak = sandbox.run(&["museum", "import", "--fix", "HEAD", "--command", cmd]).fails();
    assert!(weak.contains("is not kept") && weak.contains("the tests do not catch it"), "{weak}");
    let tests_only = sandbox.run(&["museum", "import", "--fix", "HEAD~1", "--command", cmd]).fails();
    assert!(tests_only.contains("changes only tests"), "{tests_only}");
    let named = sandbox.run(&["museum", "import", "--fix", "HEAD", "--tests", "tests/none.rs", "--command", cmd]);
    assert!(named.fails().contains("changes no test file among those named"));
    let again = sandbox.run(&["museum", "import", "--fix", "HEAD~2", "--command", cmd]).fails();
    assert!(again.contains("already holds fix"), "{again}");
    assert_eq!(exhibits(&sandbox, true).len(), 1);

    // Verified again, shown, exported as TOML plus patches.
    let short = &id[id.len() - 8..];
    let verified = sandbox.run(&["museum", "verify"]).ok();
    assert!(verified.contains(&format!("{} reproduces", short.to_lowercase())), "{verified}");
    let shown = sandbox.run(&["museum", "show", short]).ok();
    assert!(shown.contains("fails     sign_extends") && shown.contains("last check  reproduces"), "{shown}");
    let exported = sandbox.run(&["museum", "export", "--dir", "../export"]).ok();
    assert!(exported.contains("exported 1 kept exhibits"), "{exported}");
    let dir = sandbox.path("export").join(&id);
    let toml = std::fs::read_to_string(dir.join("exhibit.toml")).unwrap();
    assert!(toml.contains("title = \"Sign-extend get_int\"") && toml.contains("sign_extends"), "{toml}");
    assert!(std::fs::read_to_string(dir.join("tests.patch")).unwrap().contains("fn sign_extends"));
    assert!(std::fs::read_to_string(dir.join("fix.patch")).unwrap().contains("let shift"));

    let removed = sandbox.run(&["museum", "rm", short]).ok();
    assert!(removed.contains("is removed"), "{removed}");
    assert!(exhibits(&sandbox, false).is_empty());
}

#[test]
fn a_bug_added_by_hand_is_checked_to_show_and_a_snapshot_rewritten_instead_of_failing_is_refused() {
    let sandbox = Sandbox::new();
    bits_repo(&sandbox);
    // At the base, a test that shows the bug: added by hand, it is checked to fail there.
    let shows = "cargo test --offline --test sign";
    sandbox.write(
        "repo/tests/sign.rs",
        "#[test]\nfn sign_extends() {\n    assert_eq!(bits::get_int(&[0xff], 1), -1);\n}\n",
    );
    commit_all(&sandbox.repo(), "the bug, shown");
    let title = "get_int reads 0xff as 255";
    let added = sandbox.run(&["museum", "add", "--title", title, "--command", shows, "--base", "HEAD~4"]);
    let said = added.fails();
    assert!(
        said.contains("ran no test with the bug") || said.contains("does not build"),
        "HEAD~4 has no such test: {said}"
    );
    let added =
        sandbox.run(&["museum", "add", "--title", title, "--command", "cargo test --offline", "--file", "src/lib.rs"]);
    let said = added.fails();
    assert!(said.contains("passes with the bug"), "the crate is fixed at HEAD: {said}");

    // A "snapshot" test that rewrites its expected file instead of failing.
    sandbox.write(
        "repo/tests/snap.rs",
        "#[test]\nfn snapshot() {\n    let path = concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/tests/expected.txt\");\n    \
         std::fs::write(path, format!(\"{}\", bits::get_int(&[0xff], 1))).unwrap();\n}\n",
    );
    sandbox.write("repo/tests/expected.txt", "-1");
    commit_all(&sandbox.repo(), "a snapshot test");
    sandbox.write("repo/src/lib.rs", BUGGY);
    commit_all(&sandbox.repo(), "the bug, back");
    let snap = "cargo test --offline --test snap";
    let refused = sandbox.run(&["museum", "add", "--title", title, "--command", snap]).fails();
    assert!(refused.contains("rewrote tests/expected.txt") && refused.contains("check mode"), "{refused}");
    let shown = sandbox.run(&["museum", "add", "--title", title, "--command", shows, "--test", "sign_extends"]).ok();
    assert!(shown.contains("is kept"), "{shown}");
    let listed = exhibits(&sandbox, false);
    assert_eq!(listed[0]["verification"]["detail"], "sign_extends fail with the bug");
    assert!(exhibits(&sandbox, false).len() == 1);
}

#[test]
fn a_delivered_change_the_repository_reverted_is_proposed_when_the_next_task_starts() {
    use support::engine::{happy_script, pagination_repo, run_scripted, script, task_file};
    let sandbox = Sandbox::new();
    pagination_repo(&sandbox);
    let task = task_file(&sandbox, "low");
    let first = script(&sandbox, "first", &happy_script());
    run_scripted(&sandbox, &first, &["run", "--task-file", &task, "--approve", "all"]).ok();
    let shown: Value = serde_json::from_str(&sandbox.run(&["task", "list", "--json"]).ok()).unwrap();
    let id = shown[0]["id"].as_str().unwrap().to_owned();
    let task_json: Value = serde_json::from_str(&sandbox.run(&["task", "show", &id, "--json"]).ok()).unwrap();
    let pr_commit = task_json["task"]["pr"]["commit"].as_str().unwrap().to_owned();

    // The PR is merged, then reverted upstream, as `git revert` writes it.
    let repo = git2::Repository::open(sandbox.repo()).unwrap();
    let merged = repo.find_commit(git2::Oid::from_str(&pr_commit).unwrap()).unwrap();
    repo.reset(merged.as_object(), git2::ResetType::Hard, None).unwrap();
    let base = merged.parent(0).unwrap();
    let me = git2::Signature::now("Dev", "dev@example.com").unwrap();
    let message = format!("Revert \"{}\"\n\nThis reverts commit {pr_commit}.\n", merged.summary().unwrap().unwrap());
    let revert = repo.commit(Some("HEAD"), &me, &me, &message, &base.tree().unwrap(), &[&merged]).unwrap();
    repo.reset(&repo.find_object(revert, None).unwrap(), git2::ResetType::Hard, None).unwrap();
    assert!(exhibits(&sandbox, true).is_empty());

    let second = script(&sandbox, "second", &happy_script());
    run_scripted(&sandbox, &second, &["run", "--task-file", &task, "--approve", "all"]).ok();
    let listed = exhibits(&sandbox, false);
    assert_eq!(listed.len(), 1, "{listed:#?}");
    let exhibit = &listed[0];
    assert_eq!((exhibit["status"].as_str(), exhibit["source"]["type"].as_str()), (Some("pending"), Some("reverted")));
    assert_eq!(exhibit["links"]["commit"].as_str(), Some(revert.to_string().as_str()));
    assert_eq!(exhibit["links"]["task"].as_str(), Some(id.as_str()));
    assert!(exhibit["root_cause"].as_str().unwrap().contains("was reverted in the repository"), "{exhibit:#}");
}
