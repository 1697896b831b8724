use super::*;
use crate::playbooks::{DEFAULT_POLICY, Policy};

fn line_of(text: &str, needle: &str) -> usize {
    1 + text.lines().position(|line| line.contains(needle)).expect("needle in text")
}

#[test]
fn the_shipped_policy_has_every_section_and_compiles_strictly() {
    let policy = Policy::built_in().unwrap();
    assert!(policy.intake.unsafe_rules.len() >= 8);
    let names: Vec<&str> = policy.risk.areas.iter().map(|a| a.name.as_str()).collect();
    for area in ["migrations", "auth", "billing", "data_deletion", "infrastructure", "secrets", "ci", "dependencies"] {
        assert!(names.contains(&area), "missing area {area}");
    }
    assert_eq!(policy.classify.kinds.len(), TaskKind::ALL.len());
    assert_eq!(policy.gates.plan_at_or_above, Risk::Medium);
    assert!(policy.gates.pr && policy.gates.sensitive_areas && policy.gates.promotion);
    // Every rule was compiled at load, strictly: nothing was dropped.
    for rule in &policy.intake.unsafe_rules {
        let compiled = rule.compiled.0.get().expect("compiled at load");
        assert_eq!(
            compiled.keywords.len() + compiled.regexes.len(),
            rule.keywords.len() + rule.regexes.len(),
            "{}",
            rule.name
        );
    }
    for area in &policy.risk.areas {
        let compiled = area.compiled.0.get().expect("compiled at load");
        assert_eq!(compiled.globs.sources.len(), area.paths.len(), "{}", area.name);
    }
}

#[test]
fn a_file_without_the_new_sections_gets_the_shipped_ones() {
    let old = "[commands]\ndefault = \"prompt\"\n";
    let policy = Policy::parse(old, "old.toml").unwrap();
    let shipped = Policy::built_in().unwrap();
    assert_eq!(policy.intake, shipped.intake);
    assert_eq!(policy.risk, shipped.risk);
    assert_eq!(policy.budgets, shipped.budgets);
    assert_eq!(policy.gates, shipped.gates);
    assert!(!policy.intake.unsafe_rules[0].phrases().is_empty());
    assert_ne!(policy.version, shipped.version);
}

#[test]
fn a_bad_glob_is_a_load_error_naming_the_rule_and_its_line() {
    let text = DEFAULT_POLICY.replace("\"**/auth/**\"", "\"**/auth/[oops\"");
    let err = Policy::parse(&text, "p.toml").unwrap_err();
    assert!(err.message.starts_with("risk.area `auth`: invalid glob `**/auth/[oops`"), "{err}");
    assert_eq!(err.line, Some(line_of(&text, "**/auth/[oops")), "{err}");
    assert!(err.to_string().starts_with("p.toml:"), "{err}");
}

#[test]
fn a_bad_regex_is_a_load_error_naming_the_rule_and_its_line() {
    let text = DEFAULT_POLICY.replace("regexes = ['\\b(hardcode|", "regexes = ['(unclosed', '\\b(hardcode|");
    assert_ne!(text, DEFAULT_POLICY);
    let err = Policy::parse(&text, "p.toml").unwrap_err();
    assert!(err.message.starts_with("intake.unsafe `commit_secrets`: invalid regex `(unclosed`"), "{err}");
    assert_eq!(err.line, Some(line_of(&text, "(unclosed")));

    let text = DEFAULT_POLICY.replace("keywords = [\"exfiltrat*\"]", "keywords = [\"--\"]");
    let err = Policy::parse(&text, "p.toml").unwrap_err();
    assert!(err.message.contains("`exfiltrate_secrets`: keyword `--` has no letters"), "{err}");
}

#[test]
fn duplicate_rules_bad_costs_and_unknown_keys_are_load_errors() {
    let text = DEFAULT_POLICY.replace("name = \"billing\"", "name = \"auth\"");
    let err = Policy::parse(&text, "p.toml").unwrap_err();
    assert_eq!(err.message, "risk.area `auth` is defined twice");

    let text = DEFAULT_POLICY.replacen("max_cost_usd = 5.0", "max_cost_usd = -1.0", 1);
    let err = Policy::parse(&text, "p.toml").unwrap_err();
    assert_eq!(err.message, "budgets.medium.max_cost_usd must be a number of dollars, 0 or more");
    assert_eq!(err.line, Some(line_of(&text, "max_cost_usd = -1.0")));

    let text = DEFAULT_POLICY.replace("pr = true", "pr = true\nmerge = true");
    let err = Policy::parse(&text, "p.toml").unwrap_err();
    assert!(err.message.contains("unknown field `merge`"), "{err}");
    assert_eq!(err.line, Some(line_of(&text, "merge = true")));
}

#[test]
fn text_is_normalized_for_case_and_punctuation() {
    let text = Text::new("Please DON'T  skip-the_review!!! (CI/CD)");
    assert_eq!(text.words(), ["please", "dont", "skip", "the", "review", "ci", "cd"]);
    assert_eq!(text.as_str(), "please dont skip the review ci cd");
    // `_` is punctuation for rules: snake_case words split.
    assert_eq!(Text::new("auto_merge").as_str(), "auto merge");
}

#[test]
fn keywords_match_whole_words_or_prefixes_and_regexes_the_normalized_text() {
    let phrases =
        Phrases::compile(&["crash*".into(), "auto-merge".into(), "ci".into()], &[r"\bskip( the)? reviews?\b".into()])
            .unwrap();
    let hits = phrases.find(&Text::new("It CRASHES; Auto merge it, skip the Review. Circle"));
    let matched: Vec<(&str, usize)> = hits.iter().map(|h| (h.matched.as_str(), h.word)).collect();
    assert_eq!(matched, [("crashes", 1), ("auto merge", 2), ("skip the review", 5)]);
    assert!(phrases.find(&Text::new("circle")).is_empty(), "`ci` is a whole word");
}

#[test]
fn a_negation_just_before_a_match_cancels_it() {
    let negations: Vec<String> = ["not", "never", "dont"].map(String::from).to_vec();
    let text = Text::new("Do not push to main");
    assert!(text.negated(2, &negations, 2));
    let text = Text::new("Not only push to main");
    assert!(!text.negated(2, &negations, 2));
    let text = Text::new("Do not hesitate to push to main");
    assert!(!text.negated(4, &negations, 2), "too far before");
}

#[test]
fn budgets_convert_to_task_and_agent_limits() {
    let policy = Policy::built_in().unwrap();
    let low = policy.budgets.for_risk(Risk::Low);
    let high = policy.budgets.for_risk(Risk::High);
    assert!(high.tool_calls > low.tool_calls && high.wall_time_secs > low.wall_time_secs);
    let task = low.task_limits();
    assert_eq!(task.tool_calls, Some(low.tool_calls));
    assert_eq!(task.files_changed, Some(low.files_changed));
    assert_eq!(task.diff_lines, Some(low.diff_lines));
    assert_eq!(task.wall_time_secs, Some(low.wall_time_secs));
    let agent = low.agent_limits();
    assert_eq!(agent.tool_calls, Some(low.agent_tool_calls));
    assert_eq!(agent.diff_lines, task.diff_lines);
    assert_eq!(low.max_cost_micros(), 2_000_000);
    assert_eq!(
        low.summary(),
        "wall time 30 min, 400000 tokens, $2.00, 150 tool calls (60 per agent), 2 retries, \
         10 files changed, 400 diff lines"
    );
}

#[test]
fn area_globs_match_repository_paths_case_insensitively() {
    let policy = Policy::built_in().unwrap();
    let area = |name: &str| policy.risk.areas.iter().find(|a| a.name == name).unwrap();
    assert_eq!(area("migrations").matching_glob("db/migrations/0003_add_users.sql"), Some("**/migrations/**"));
    assert_eq!(area("ci").matching_glob("./.github/workflows/ci.yml"), Some(".github/workflows/**"));
    assert_eq!(area("secrets").matching_glob(".env"), Some("**/.env"));
    assert_eq!(area("infrastructure").matching_glob("deploy/Dockerfile"), Some("**/Dockerfile"));
    assert_eq!(area("auth").matching_glob("src/parser.rs"), None);
    assert_eq!(area("dependencies").matching_glob("Cargo.toml"), Some("**/Cargo.toml"));
}

#[test]
fn destructive_rules_are_compiled_at_load_and_checked_like_the_others() {
    let policy = Policy::built_in().unwrap();
    let names: Vec<&str> = policy.risk.destructive.iter().map(|r| r.name.as_str()).collect();
    for name in
        ["delete_tests", "remove_ci", "disable_checks", "delete_build_scripts", "wipe_migrations", "drop_tables"]
    {
        assert!(names.contains(&name), "missing destructive rule {name}");
    }
    for rule in &policy.risk.destructive {
        let compiled = rule.compiled.0.get().expect("compiled at load");
        assert_eq!(compiled.keywords.len() + compiled.regexes.len(), rule.keywords.len() + rule.regexes.len());
        assert_eq!(rule.floor, Risk::High, "{}", rule.name);
    }

    let text = DEFAULT_POLICY.replace("name = \"disable_checks\"", "name = \"remove_ci\"");
    let err = Policy::parse(&text, "p.toml").unwrap_err();
    assert_eq!(err.message, "risk.destructive `remove_ci` is defined twice");
    assert_eq!(err.line, Some(line_of(&text, "name = \"remove_ci\"")));

    let text = DEFAULT_POLICY
        .replace("regexes = ['\\b(drop|dropping|truncate", "regexes = ['(oops', '\\b(drop|dropping|truncate");
    assert_ne!(text, DEFAULT_POLICY);
    let err = Policy::parse(&text, "p.toml").unwrap_err();
    assert!(err.message.starts_with("risk.destructive `drop_tables`: invalid regex `(oops`"), "{err}");
    assert_eq!(err.line, Some(line_of(&text, "(oops")));
}
