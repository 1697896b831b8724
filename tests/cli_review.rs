//! `ambidex review` on the real store `ambidex demo --headless` leaves: the engine's reviews run
//! first, then the Markdown report has every section, the demo's two tasks among the slowest
//! with the Left Hand's strategy wins and losses, a proposal waiting for its shadow evaluation,
//! and the window checked.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support {
    pub mod cli;
}

use support::cli::Sandbox;

const SECTIONS: [&str; 12] = [
    "# Ambidex review",
    "## Figures",
    "## Failed tasks",
    "## Slowest tasks (intake to PR)",
    "## Breaker trips",
    "## Environment failures",
    "## Strategy wins and losses by class",
    "## Pending promotions",
    "## Retirement proposals",
    "## Autonomy",
    "## Waiting for review",
    "## Recorded by this review",
];

/// Asserts every section is there, in order.
fn assert_sections(report: &str) {
    let mut from = 0;
    for section in SECTIONS {
        let found = report[from..].find(&format!("{section}\n")).unwrap_or_else(|| panic!("no `{section}`:\n{report}"));
        from += found + section.len();
    }
}

/// The text of the section `heading`, up to the next one.
fn section<'a>(report: &'a str, heading: &str) -> &'a str {
    let start = report.find(&format!("## {heading}\n")).unwrap_or_else(|| panic!("no {heading}:\n{report}"));
    let rest = &report[start + heading.len() + 4..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

#[test]
fn the_review_of_the_demo_store_reports_every_section_and_what_waits_for_a_person() {
    let sandbox = Sandbox::new();
    let demo = sandbox.run(&["demo", "--headless"]);
    assert_eq!(demo.code, 0, "stdout:\n{}\nstderr:\n{}", demo.stdout, demo.stderr);
    let state = sandbox.path("data/ambidex/demo/state").display().to_string();

    let out = sandbox.path("review.md");
    let run = sandbox.run(&["--state-dir", &state, "review", "--out", &out.display().to_string()]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stdout.is_empty(), "the report goes to the file: {}", run.stdout);
    let report = std::fs::read_to_string(&out).unwrap();
    assert_sections(&report);
    assert!(report.contains("(`--since 7d`)"), "seven days by default:\n{report}");
    let figures = section(&report, "Figures");
    assert!(figures.contains("- **Delivery**: 2 tasks, 2 finished, 2 reached a PR (completion 100%)"), "{figures}");
    for family in ["**Quality**", "**Exploration**: 1 explored, 1 changed the outcome", "**Governance**"] {
        assert!(figures.contains(family), "{figures}");
    }
    let slowest = section(&report, "Slowest tasks (intake to PR)");
    for title in ["Make top_words count words case-insensitively", "Fix reading_minutes rounding down"] {
        assert!(slowest.contains(title), "{slowest}");
    }
    assert!(section(&report, "Failed tasks").contains("None."), "{report}");
    let strategies = section(&report, "Strategy wins and losses by class");
    assert!(strategies.contains("| feature | test_first | 1 | 0 | 1 |"), "{strategies}");
    assert!(strategies.contains("| feature | alternative_design | 0 | 1 | 1 |"), "{strategies}");
    assert!(section(&report, "Autonomy").contains("| bug_fix | supervised | - |"), "{report}");
    assert!(section(&report, "Retirement proposals").contains("None"), "{report}");
    assert!(section(&report, "Recorded by this review").contains("Nothing changed."), "{report}");

    // A proposal waits for its shadow evaluation; the report says what to run.
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/playbooks/right_hand.toml"))
        .unwrap()
        .replacen("name = \"right_hand\"", "name = \"careful_fix\"", 1);
    let file = sandbox.write("careful_fix.toml", &text);
    let propose = ["--state-dir", &state, "playbook", "propose", &file.display().to_string(), "--summary", "careful"];
    sandbox.run(&propose).ok();
    let report = sandbox.run(&["--state-dir", &state, "review", "--since", "2w"]).ok();
    assert_sections(&report);
    let pending = section(&report, "Pending promotions");
    assert!(
        pending.contains("careful_fix") && pending.contains("no shadow evaluation yet; run `ambidex playbook evaluate"),
        "{pending}"
    );

    let refused = sandbox.run(&["--state-dir", &state, "review", "--since", "a while"]).fails();
    assert!(refused.contains("`7d`"), "{refused}");
    let unwritable = sandbox.path("no/such/dir/review.md").display().to_string();
    let refused = sandbox.run(&["--state-dir", &state, "review", "--out", &unwritable]).fails();
    assert!(refused.contains("cannot write the report to"), "{refused}");
}
