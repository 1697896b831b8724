use std::path::Path;

use super::*;
use crate::orchestrator::admission::signals::{churn, mentioned_identifiers, mentioned_paths};

/// The shipped policy, parsed (and its rules compiled) once for all tests.
fn policy() -> Policy {
    static POLICY: std::sync::OnceLock<Policy> = std::sync::OnceLock::new();
    POLICY.get_or_init(|| Policy::built_in().unwrap()).clone()
}

fn spec(title: &str, criteria: &[&str]) -> TaskSpec {
    let mut spec = TaskSpec::titled(title);
    spec.acceptance_criteria = criteria.iter().map(|c| (*c).to_owned()).collect();
    spec
}

/// A familiar corner of a known repository.
fn familiar(files: &[&str]) -> Signals {
    Signals {
        likely_files: files.iter().map(|f| (*f).to_owned()).collect(),
        named_files: files.len(),
        churn: files.iter().map(|f| ((*f).to_owned(), 3)).collect(),
        playbook_exists: true,
        similar_tasks: 4,
        similar_failures: 0,
        repo_files: 200,
    }
}

fn routine_bug() -> TaskSpec {
    let mut spec =
        spec("Fix crash in the config parser on an empty file", &["Parsing an empty file returns the default config"]);
    spec.description = "`parse_config` panics on an empty file.".into();
    spec
}

fn has_reason(triage: &Triage, start: &str) -> bool {
    triage.reasons.iter().any(|r| r.starts_with(start))
}

#[test]
fn a_routine_bug_fix_with_criteria_goes_to_the_right_hand_alone() {
    let policy = policy();
    let triage = triage(&routine_bug(), &policy, &familiar(&["src/config.rs"]));
    assert_eq!(triage.kind, TaskKind::BugFix);
    assert_eq!(triage.risk, Risk::Low);
    assert_eq!(triage.novelty, 0);
    assert_eq!(triage.route, Route::RightOnly, "{:#?}", triage.reasons);
    assert_eq!(triage.gates, [GatePlan::PullRequest]);
    assert_eq!(triage.budgets, Some(recorded_budgets(&policy.budgets.low)));
    assert!(triage.areas.is_empty());
    assert_eq!(triage.policy_version, policy.version);
    assert!(has_reason(&triage, "kind bug_fix: classify keywords "));
    assert!(triage.reasons[0].contains("\"fix\"") && triage.reasons[0].contains("\"crash\""));
    assert!(has_reason(&triage, "route right_only: no exploration trigger fired"));
    assert!(has_reason(&triage, "novelty 0: "));

    let reasons = &triage.reasons;
    assert!(reasons.contains(&budget_summary(Risk::Low, &policy.budgets.low)));
    assert!(reasons.contains(&"gates: pull_request; never: merge, deploy".to_owned()));
    assert!(reasons.contains(&format!("policy version {}", policy.version)));
}

#[test]
fn the_declared_kind_wins() {
    let mut spec = routine_bug();
    spec.kind = Some(TaskKind::TestWork);
    let triage = triage(&spec, &policy(), &familiar(&["src/config.rs"]));
    assert_eq!(triage.kind, TaskKind::TestWork);
    assert_eq!(triage.reasons[0], "kind test_work: declared by the task");
}

#[test]
fn kinds_are_classified_from_keywords() {
    let cases = [
        ("Fix crash when the history is empty", TaskKind::BugFix),
        ("Regression: saving loses the last line", TaskKind::BugFix),
        ("Add tests for the tokenizer", TaskKind::TestWork),
        ("Fix the flaky test in store_tests", TaskKind::TestWork),
        ("Refactor the renderer into smaller functions", TaskKind::Refactor),
        ("Rename Engine::open to Engine::start", TaskKind::Refactor),
        ("Update the README install section", TaskKind::Documentation),
        ("Bump serde to 1.0.210", TaskKind::DependencyUpdate),
        ("Fix the CI pipeline on macOS", TaskKind::CiRepair),
        ("Add a migration for the users schema", TaskKind::Migration),
        ("Patch CVE-2024-1234 in the upload handler", TaskKind::SecurityChange),
        ("Show the branch name in the status bar", TaskKind::Feature),
    ];
    let policy = policy();
    for (title, kind) in cases {
        let triage = triage(&spec(title, &["x y z"]), &policy, &Signals::default());
        assert_eq!(triage.kind, kind, "{title}: {:?}", triage.reasons[0]);
    }
    assert_eq!(classify_kind(&spec("Bump serde", &[]), &policy), TaskKind::DependencyUpdate);
    let triage = triage(&spec("Show the branch name in the status bar", &[]), &policy, &Signals::default());
    assert_eq!(triage.reasons[0], "kind feature: no classify keyword matched (the default kind)");
}

#[test]
fn every_risk_area_is_found_by_path_and_by_keyword() {
    let cases = [
        ("migrations", "db/migrations/0004_orders.sql", "Add a data migration for orders", Risk::High),
        ("auth", "src/auth/session.rs", "Expire idle login sessions after an hour", Risk::High),
        ("billing", "app/billing/invoice.py", "Round invoice totals to cents", Risk::High),
        ("data_deletion", "jobs/retention/sweep.go", "Purge expired uploads nightly", Risk::Critical),
        ("infrastructure", "infra/main.tf", "Give the worker an IAM role for the queue", Risk::High),
        ("secrets", "config/.env.production", "Rotate the signing key used for webhooks", Risk::High),
        ("ci", ".github/workflows/test.yml", "Cache cargo builds in the CI pipeline", Risk::Medium),
        ("dependencies", "Cargo.lock", "Bump the regex dependency", Risk::Low),
    ];
    let policy = policy();
    for (area, path, text, floor) in cases {
        // By path: a neutral title, the file among the likely ones.
        let by_path = triage(&spec("Tidy the module layout a bit", &["x y z"]), &policy, &familiar(&[path]));
        assert!(by_path.areas.contains(&area.to_owned()), "{area} by path: {:?}", by_path.reasons);
        assert!(by_path.risk >= floor, "{area}: {}", by_path.risk);
        assert!(
            by_path.reasons.iter().any(|r| r.starts_with(&format!("area `{area}` (risk.area, floor {floor}"))
                && r.contains(&format!("`{path}` matches `"))),
            "{area}: {:?}",
            by_path.reasons
        );
        // By keyword: nothing on disk, the words in the title.
        let by_text = triage(&spec(text, &["x y z"]), &policy, &Signals::default());
        assert!(by_text.areas.contains(&area.to_owned()), "{area} by keyword: {:?}", by_text.reasons);
        assert!(by_text.risk >= floor);
        let sensitive = policy.risk.areas.iter().find(|a| a.name == area).unwrap().sensitive;
        assert_eq!(by_text.gates.contains(&GatePlan::Sensitive { area: area.to_owned() }), sensitive, "{area}");
    }
}

#[test]
fn the_declared_risk_is_never_lowered() {
    let policy = policy();
    for declared in Risk::ALL.iter().copied() {
        let mut spec = routine_bug();
        spec.risk = Some(declared);
        let triage = triage(&spec, &policy, &familiar(&["src/config.rs"]));
        assert_eq!(triage.risk, declared);
        assert_eq!(triage.budgets, Some(recorded_budgets(policy.budgets.for_risk(declared))));
        assert!(
            triage
                .reasons
                .iter()
                .any(|r| r == &format!("risk {declared}: declared by the task (triage may raise it, never lower it)"))
        );
    }
    // …but it may be raised, and the reason names the rule.
    let mut spec = spec("Fix the token refresh in the login flow", &["x y z"]);
    spec.risk = Some(Risk::Low);
    let triage = triage(&spec, &policy, &familiar(&["src/auth/refresh.rs"]));
    assert_eq!(triage.risk, Risk::High);
    assert!(has_reason(&triage, "risk low → high: risk.area `auth`"));
}

#[test]
fn size_kind_and_churn_raise_risk() {
    let policy = policy();
    let many: Vec<String> = (0..40).map(|i| format!("src/m{i}.rs")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let triage = triage(&routine_bug(), &policy, &familiar(&refs));
    assert_eq!(triage.risk, Risk::High);
    assert!(has_reason(&triage, "risk low → high: estimated 40 files"));
    assert!(has_reason(
        &triage,
        "note: the estimate (40 files and 1620 diff lines) is over the high budgets (30 files"
    ));
    // Files found by searching for an identifier count once per identifier: a widely used name
    // is not a wide change.
    let mut searched = familiar(&refs);
    searched.named_files = 0;
    let triage = super::triage(&routine_bug(), &policy, &searched);
    assert_eq!(estimate_size(&routine_bug(), &policy, &searched), SizeEstimate { files: 1, diff_lines: 60 });
    assert_eq!(triage.risk, Risk::Low);

    let mut spec = routine_bug();
    spec.kind = Some(TaskKind::DependencyUpdate);
    let triage_kind = super::triage(&spec, &policy, &familiar(&["src/config.rs"]));
    assert_eq!(triage_kind.risk, Risk::Medium);
    assert!(has_reason(&triage_kind, "risk low → medium: risk.kinds.dependency_update"));

    let mut hot = familiar(&["src/config.rs"]);
    hot.churn = vec![("src/config.rs".into(), 31)];
    let triage = super::triage(&routine_bug(), &policy, &hot);
    assert_eq!(triage.risk, Risk::Medium);
    assert_eq!(triage.route, Route::RightAndLeft);
    assert!(has_reason(&triage, "risk low → medium: `src/config.rs` changed in 31 recent commits"));
    assert!(triage.reasons.iter().any(|r| r.contains("high churn: `src/config.rs` changed in 31 recent commits")));
    // Five files are medium risk; in a repository of 20 files they are a quarter of it: high.
    let mut share = familiar(&["a.rs", "b.rs", "c.rs", "d.rs", "e.rs"]);
    assert_eq!(super::triage(&routine_bug(), &policy, &share).risk, Risk::Medium);
    share.repo_files = 20;
    let triage = super::triage(&routine_bug(), &policy, &share);
    assert_eq!(triage.risk, Risk::High);
    assert!(triage.reasons.iter().any(|r| r.contains("risk.size.high_share_percent = 25%")));
}

#[test]
fn sensitive_novel_or_unclear_tasks_are_explored() {
    let policy = policy();
    // Sensitive area.
    let triage = super::triage(&routine_bug(), &policy, &familiar(&["src/auth/session.rs"]));
    assert_eq!(triage.route, Route::RightAndLeft);
    assert!(triage.reasons.iter().any(|r| r.contains("sensitive area `auth` (routing.sensitive_areas)")));
    assert_eq!(
        triage.gates,
        [GatePlan::Plan, GatePlan::Sensitive { area: "auth".into() }, GatePlan::Promotion, GatePlan::PullRequest]
    );

    // Novel: no playbook, no similar task, nothing in the repository matches.
    let triage = super::triage(&routine_bug(), &policy, &Signals::default());
    assert_eq!(triage.novelty, 25 + 15 + 15);
    assert_eq!(triage.route, Route::RightOnly, "55 is under 60");
    let failing = Signals { similar_failures: 1, ..Signals::default() };
    let triage = super::triage(&routine_bug(), &policy, &failing);
    assert_eq!(triage.novelty, 70);
    assert_eq!(triage.route, Route::RightAndLeft);
    assert!(triage.reasons.iter().any(|r| r.contains("novelty 70 ≥ routing.novelty_at_or_above = 60")));
    assert!(triage.reasons.iter().any(|r| r.contains("1 similar past failures (routing.failures_at_or_above = 1)")));

    // Missing or uncheckable criteria.
    let mut spec = routine_bug();
    spec.acceptance_criteria.clear();
    let triage = super::triage(&spec, &policy, &familiar(&["src/config.rs"]));
    assert_eq!(triage.route, Route::RightAndLeft);
    assert_eq!(triage.novelty, 15);
    assert!(triage.reasons.iter().any(|r| r.contains("missing acceptance criteria (routing.missing_criteria)")));
    spec.acceptance_criteria = vec!["works".into()];
    let triage = super::triage(&spec, &policy, &familiar(&["src/config.rs"]));
    assert_eq!(triage.route, Route::RightAndLeft);
    assert!(triage.reasons.iter().any(|r| r.contains("unstable acceptance criteria")));

    // Kinds that always explore.
    let mut spec = routine_bug();
    spec.kind = Some(TaskKind::SecurityChange);
    let triage = super::triage(&spec, &policy, &familiar(&["src/config.rs"]));
    assert_eq!(triage.route, Route::RightAndLeft);
    assert_eq!(triage.risk, Risk::High);
    assert!(triage.reasons.iter().any(|r| r.contains("kind security_change always explores")));
}

#[test]
fn budgets_follow_the_risk_level() {
    let policy = policy();
    let mut previous: Option<Budgets> = None;
    for risk in Risk::ALL.iter().copied() {
        let mut spec = routine_bug();
        spec.risk = Some(risk);
        let triage = triage(&spec, &policy, &familiar(&["src/config.rs"]));
        let budgets = policy.budgets.for_risk(risk);
        assert_eq!(triage.budgets, Some(recorded_budgets(budgets)));
        assert_eq!(
            budget_summary(risk, budgets),
            format!("budgets ({risk} risk, budgets.{risk}): {}", budgets.summary())
        );
        assert!(triage.reasons.contains(&budget_summary(risk, budgets)));
        if let Some(previous) = previous {
            assert!(budgets.wall_time_secs >= previous.wall_time_secs);
            assert!(budgets.max_tokens >= previous.max_tokens);
        }
        previous = Some(*budgets);
        assert_eq!(triage.requires(crate::protocol::GateKind::Plan), risk >= Risk::Medium);
    }
}

#[test]
fn requested_approvals_only_add_gates() {
    let mut policy = policy();
    policy.gates.pr = false;
    let mut spec = routine_bug();
    spec.required_approvals = vec!["plan".into(), "Security review".into()];
    let triage = triage(&spec, &policy, &familiar(&["src/config.rs"]));
    assert_eq!(triage.gates, [GatePlan::Plan, GatePlan::PullRequest]);
    assert!(has_reason(&triage, "gate plan: requested by the task"));
    assert!(has_reason(
        &triage,
        "gate pull_request: the requested approval \"Security review\" has no gate of its own"
    ));
}

#[test]
fn paths_and_identifiers_are_taken_from_the_task_text() {
    let mut spec = TaskSpec::titled("Fix `Config::load` in src/config.rs:42");
    spec.description = "The `parse_config()` helper (see ./src/util/io.rs, docs/) fails. CI/CD \
                        and/or TaskSpec. https://example.com/a/b.rs"
        .into();
    spec.out_of_scope = vec!["src/secret.rs".into()];
    assert_eq!(mentioned_paths(&spec), ["src/config.rs", "src/util/io.rs", "docs/"]);
    assert_eq!(mentioned_identifiers(&spec), ["Config", "load", "parse_config", "TaskSpec"]);
}

// --- a real repository -----------------------------------------------------------------------------

fn commit(repo: &git2::Repository, files: &[(&str, &str)], message: &str) {
    let root = repo.workdir().unwrap().to_owned();
    let mut index = repo.index().unwrap();
    for (path, content) in files {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, content).unwrap();
        index.add_path(Path::new(path)).unwrap();
    }
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let signature = git2::Signature::now("Test", "test@example.com").unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    repo.commit(Some("HEAD"), &signature, &signature, message, &tree, &parents).unwrap();
}

#[test]
fn signals_from_a_real_repository_find_likely_files_and_churn() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let repo = git2::Repository::init(root).unwrap();
    commit(
        &repo,
        &[
            ("src/config.rs", "pub fn parse_config(text: &str) {}\n"),
            ("src/main.rs", "fn main() { config::parse_config(\"\"); }\n"),
            ("src/auth/session.rs", "pub struct Session;\n"),
            ("README.md", "# demo\n"),
        ],
        "initial",
    );
    for i in 0..3 {
        commit(
            &repo,
            &[("src/config.rs", &format!("pub fn parse_config(text: &str) {{ /* {i} */ }}\n"))],
            "tweak config",
        );
    }
    commit(&repo, &[("src/auth/session.rs", "pub struct Session { id: u64 }\n")], "session ids");

    let mut spec = TaskSpec::titled("Fix crash in `parse_config` on empty input");
    spec.description = "It lives in src/config.rs; session.rs may need the same check.".into();
    spec.acceptance_criteria = vec!["An empty input returns the default config".into()];
    let signals = Signals::gather(root, &spec, &SignalOptions::default());
    assert_eq!(signals.likely_files, ["src/config.rs", "src/auth/session.rs", "src/main.rs"]);
    assert_eq!(
        signals.churn,
        [("src/config.rs".to_owned(), 4), ("src/auth/session.rs".to_owned(), 2), ("src/main.rs".to_owned(), 1),]
    );
    assert_eq!(signals.repo_files, 4);
    assert_eq!(signals.named_files, 2);
    assert_eq!(signals.hottest(), Some(("src/config.rs", 4)));

    // A directory stands for its files; paths outside the repository are ignored.
    let mut spec = TaskSpec::titled("Document the `src/auth/` module and ../../etc/passwd.rs");
    spec.acceptance_criteria = vec!["Every public item has a doc comment".into()];
    let signals = Signals::gather(root, &spec, &SignalOptions::default());
    assert_eq!(signals.likely_files, ["src/auth/session.rs"]);

    // Triage sees the auth file and gates it.
    let triage = triage(&spec, &policy(), &signals);
    assert!(triage.gates.contains(&GatePlan::Sensitive { area: "auth".into() }));
    assert_eq!(churn(root, &["nope.rs".into()], 10), [("nope.rs".to_owned(), 0)]);
}

#[test]
fn signals_outside_git_still_count_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), "pub fn load_settings() {}\n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "nothing\n").unwrap();
    let mut spec = TaskSpec::titled("Make `load_settings` read the environment");
    spec.acceptance_criteria = vec!["FOO=1 sets foo".into()];
    let signals = Signals::gather(dir.path(), &spec, &SignalOptions::default());
    assert_eq!(signals.likely_files, ["src/lib.rs"]);
    assert!(signals.churn.is_empty());
    assert_eq!(signals.repo_files, 2);
}
