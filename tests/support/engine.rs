//! A small Rust repository with a real bug and a real test suite, a scripted model, and the real
//! `ambidex` binary driving tasks through the engine.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use super::cli::{Run, Sandbox};

/// The buggy library: `page_count` rounds down.
pub const LIB_RS: &str = "/// Number of pages needed to show `items` items, `size` per page.
pub fn page_count(items: usize, size: usize) -> usize {
    items / size
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_pages() {
        assert_eq!(page_count(10, 5), 2);
    }
}
";

/// Commits every file of `dir` on the current branch.
pub fn commit_all(dir: &Path, message: &str) {
    let repo = git2::Repository::open(dir).unwrap();
    let mut index = repo.index().unwrap();
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let me = git2::Signature::now("Dev", "dev@example.com").unwrap();
    let parents: Vec<git2::Commit> = repo.head().ok().and_then(|h| h.peel_to_commit().ok()).into_iter().collect();
    let parents: Vec<&git2::Commit> = parents.iter().collect();
    repo.commit(Some("HEAD"), &me, &me, message, &tree, &parents).unwrap();
}

/// Writes the pagination crate into the sandbox's repository and commits it.
pub fn pagination_repo(sandbox: &Sandbox) {
    sandbox.write(
        "repo/Cargo.toml",
        "[package]\nname = \"pagination\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
    );
    sandbox.write("repo/src/lib.rs", LIB_RS);
    sandbox.write("repo/.gitignore", "/target\n");
    commit_all(&sandbox.repo(), "pagination");
}

/// A task file for the pagination fix at `risk`, written into the sandbox; returns its path.
pub fn task_file(sandbox: &Sandbox, risk: &str) -> String {
    let text = format!(
        "+++\ntitle = \"Fix page_count rounding for a partial last page\"\nrisk = \"{risk}\"\nkind = \"bug_fix\"\n\
         acceptance_criteria = [\"page_count(11, 5) returns 3\", \"existing tests still pass\"]\n\
         validation = [\"cargo test\"]\n+++\n\n`page_count` in src/lib.rs rounds down, so the last partial page is lost.\n"
    );
    sandbox.write("task.md", &text).display().to_string()
}

/// The flags that select the scripted model playing `script`.
pub fn scripted(script: &Path) -> Vec<String> {
    vec![
        "-c".into(),
        "providers.script.kind=scripted".into(),
        "-c".into(),
        format!("providers.script.script={}", script.display()),
        "-c".into(),
        "models.default_provider=script".into(),
    ]
}

/// Runs `ambidex` with the scripted model and `args`.
pub fn run_scripted(sandbox: &Sandbox, script: &Path, args: &[&str]) -> Run {
    let mut all: Vec<String> = scripted(script);
    all.extend(args.iter().map(|a| a.to_string()));
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    sandbox.run(&refs)
}

/// Writes a script into the sandbox and returns its path.
pub fn script(sandbox: &Sandbox, name: &str, text: &str) -> PathBuf {
    sandbox.write(&format!("scripts/{name}.toml"), text)
}

/// The planner's two turns for the pagination fix.
pub const PLAN: &str = r#"
[[turn]]
role = "planner"
text = "Reading the pagination code first."
[[turn.tool_call]]
name = "read_file"
arguments = { path = "src/lib.rs" }

[[turn]]
role = "planner"
[[turn.tool_call]]
name = "submit_plan"
arguments = { summary = "page_count rounds down; it must round up.", steps = ["src/lib.rs: use div_ceil"], expected_files = ["src/lib.rs"], validation = ["cargo test"], rollback = "revert the commit", confidence = 90 }
"#;

/// The implementer's fix.
pub const FIX: &str = r#"
[[turn]]
role = "implementer"
[[turn.tool_call]]
name = "edit_file"
arguments = { path = "src/lib.rs", old = "    items / size\n", new = "    items.div_ceil(size)\n" }

[[turn]]
role = "implementer"
[[turn.tool_call]]
name = "finish"
arguments = { summary = "page_count now rounds up." }
"#;

/// The tester's regression test.
pub const TEST: &str = r#"
[[turn]]
role = "tester"
[[turn.tool_call]]
name = "edit_file"
arguments = { path = "src/lib.rs", old = "    #[test]\n    fn exact_pages()", new = "    #[test]\n    fn partial_last_page() {\n        assert_eq!(page_count(11, 5), 3);\n    }\n\n    #[test]\n    fn exact_pages()" }

[[turn]]
role = "tester"
[[turn.tool_call]]
name = "finish"
arguments = { summary = "added partial_last_page" }
"#;

/// An approving review.
pub const REVIEW: &str = r#"
[[turn]]
role = "reviewer"
[[turn.tool_call]]
name = "git_diff"

[[turn]]
role = "reviewer"
[[turn.tool_call]]
name = "submit_review"
arguments = { verdict = "approve", summary = "Minimal fix with a regression test.", findings = [] }
"#;

/// The PR writer.
pub const PR: &str = r#"
[[turn]]
role = "pr"
[[turn.tool_call]]
name = "submit_pr"
arguments = { title = "Round page counts up", summary = "page_count dropped the last partial page.", risks = ["callers relying on the old rounding"], rollback = "revert this commit" }
"#;

/// The whole happy path.
pub fn happy_script() -> String {
    [PLAN, FIX, TEST, REVIEW, PR].concat()
}

/// A model server on 127.0.0.1 the binary is pointed at: provider `fake` of `kind` (`openai` or
/// `openai_responses`) at `url`, its key in `key_env`, no retries, no challengers.
pub struct FakeModel<'a> {
    pub kind: &'a str,
    pub url: &'a str,
    pub key_env: &'a str,
}

impl FakeModel<'_> {
    /// Runs `ambidex` with this model, more `-c` `settings`, then `args`; `env` adds variables
    /// (the key is set to a fake one unless `env` sets it).
    pub fn run(&self, sandbox: &Sandbox, settings: &[String], args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut all: Vec<String> = [
            format!("providers.fake.kind={}", self.kind),
            format!("providers.fake.base_url={}/v1", self.url),
            "providers.fake.model=fake-model".into(),
            format!("providers.fake.api_key_env={}", self.key_env),
            "providers.fake.max_retries=0".into(),
            "models.default_provider=fake".into(),
            "engine.challengers=0".into(),
        ]
        .into_iter()
        .chain(settings.iter().cloned())
        .flat_map(|pair| ["-c".to_owned(), pair])
        .collect();
        all.extend(args.iter().map(|a| a.to_string()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let mut env: Vec<(&str, &str)> = env.to_vec();
        if !env.iter().any(|(name, _)| *name == self.key_env) {
            env.push((self.key_env, "sk-fake-model-0123456789abcdef"));
        }
        sandbox.run_with(&refs, &env)
    }

    /// [`FakeModel::run`] of `ambidex run --task-file TASK --approve all`.
    pub fn run_task(&self, sandbox: &Sandbox, task: &str, settings: &[String]) -> Run {
        self.run(sandbox, settings, &["run", "--task-file", task, "--approve", "all"], &[])
    }
}

// --- the Left Hand's agents, scripted ----------------------------------------------------------

/// The eval designer writes `tests`'s body into tests/acceptance.rs and names its tests.
pub fn eval_designer(body: &str, names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    format!(
        r#"
[[turn]]
role = "eval_designer"
[[turn.tool_call]]
name = "write_file"
arguments = {{ path = "tests/acceptance.rs", content = "use pagination::page_count;\n{body}" }}

[[turn]]
role = "eval_designer"
[[turn.tool_call]]
name = "submit_tests"
arguments = {{ files = ["tests/acceptance.rs"], tests = [{}], summary = "one test per criterion" }}
"#,
        names.join(", ")
    )
}

/// Acceptance tests for both criteria of the pagination fix.
pub const ACCEPTANCE: &str = r"\n#[test]\nfn accept_partial_last_page() {\n    assert_eq!(page_count(11, 5), 3);\n}\n\n#[test]\nfn accept_zero_page_size() {\n    assert_eq!(page_count(3, 0), 0);\n}\n";

/// A challenger replacing the body of `page_count` with `body`.
pub fn challenger(label: &str, body: &str) -> String {
    format!(
        r#"
[[turn]]
role = "challenger"
candidate = "{label}"
[[turn.tool_call]]
name = "edit_file"
arguments = {{ path = "src/lib.rs", old = "    items / size\n", new = "{body}" }}

[[turn]]
role = "challenger"
candidate = "{label}"
[[turn.tool_call]]
name = "finish"
arguments = {{ summary = "{label} done" }}
"#
    )
}

/// The failure analyst finds nothing in `label`.
pub fn analyst(label: &str) -> String {
    format!(
        r#"
[[turn]]
role = "failure_analyst"
candidate = "{label}"
[[turn.tool_call]]
name = "submit_findings"
arguments = {{ findings = [], summary = "nothing found" }}
"#
    )
}

/// The synthesis recommends `action` on `candidate`.
pub fn synthesis(action: &str, candidate: &str) -> String {
    format!(
        r#"
[[turn]]
role = "synthesis"
[[turn.tool_call]]
name = "submit_recommendation"
arguments = {{ action = "{action}", candidate = "{candidate}", reasons = [{{ text = "the evidence", rows = ["{candidate}"] }}] }}
"#
    )
}

/// A body of `page_count` that passes every acceptance test.
pub const GUARDED: &str = r"    if size == 0 {\n        return 0;\n    }\n    items.div_ceil(size)\n";
/// A body of `page_count` that breaks the existing test.
pub const OFF_BY_ONE: &str = r"    items / size + 1\n";

/// The Left Hand's agents on the pagination fix: the guarded candidate (c1) wins over the
/// off-by-one one (c2) and is adopted.
pub fn left_hand_win() -> String {
    [
        eval_designer(ACCEPTANCE, &["accept_partial_last_page", "accept_zero_page_size"]),
        challenger("c1", GUARDED),
        challenger("c2", OFF_BY_ONE),
        analyst("production"),
        analyst("c1"),
        analyst("c2"),
        synthesis("adopt", "c1"),
    ]
    .concat()
}
