use super::*;
use crate::protocol::{DiffStats, Finding};

fn row(label: &str, acceptance_passed: u32, broken: &[&str], added: u32) -> EvidenceRow {
    EvidenceRow {
        candidate: label.into(),
        strategy: "s".into(),
        validation_ok: broken.is_empty(),
        tests_passed: 3,
        tests_failed: broken.len() as u32,
        broken: broken.iter().map(|b| b.to_string()).collect(),
        acceptance_passed,
        acceptance_total: 2,
        acceptance_failed: (acceptance_passed..2).map(|n| format!("accept_{n}")).collect(),
        diff: DiffStats { files: 1, added, removed: 1 },
        ..EvidenceRow::default()
    }
}

fn matrix(rows: Vec<EvidenceRow>) -> EvidenceMatrix {
    EvidenceMatrix { rows, ..EvidenceMatrix::default() }
}

#[test]
fn the_evidence_recommends_the_best_acceptable_candidate_and_says_why_the_others_fall_short() {
    let m = matrix(vec![row("production", 1, &[], 2), row("c1", 2, &[], 4), row("c2", 1, &["exact_pages"], 3)]);
    let (recommendation, reasons) = recommend(&m);
    assert_eq!(recommendation, Recommendation::Adopt { candidate: "c1".into() });
    assert_eq!(reasons[0].rows, ["c1"]);
    let text: Vec<&str> = reasons.iter().map(|r| r.text.as_str()).collect();
    assert!(text.iter().any(|t| t.contains("production is not acceptable: fails 1 of 2 acceptance tests")), "{text:?}");
    assert!(text.iter().any(|t| t.contains("c2 is not acceptable") && t.contains("breaks exact_pages")), "{text:?}");
}

#[test]
fn production_is_kept_when_it_is_best_and_nothing_acceptable_means_reject_all() {
    let keep = matrix(vec![row("production", 2, &[], 2), row("c1", 2, &[], 40)]);
    assert_eq!(recommend(&keep).0, Recommendation::KeepProduction);
    let none = matrix(vec![row("production", 0, &[], 2), row("c1", 1, &["a"], 4)]);
    assert_eq!(recommend(&none).0, Recommendation::RejectAll);
    assert_eq!(recommend(&matrix(Vec::new())).1[0].text, "no candidate produced a change");
}

#[test]
fn a_serious_finding_makes_a_candidate_unacceptable() {
    let mut risky = row("c1", 2, &[], 4);
    assert!(risky.acceptable());
    risky.analyst_findings.push(Finding {
        severity: "blocker".into(),
        category: "security".into(),
        file: None,
        message: "unchecked input".into(),
    });
    assert!(!risky.acceptable());
    assert!(risky.shortcomings().join("; ").contains("1 serious analyst findings"));
}

#[test]
fn gate_options_start_with_the_recommendation_and_offer_every_acceptable_candidate_once() {
    let m = matrix(vec![row("production", 2, &[], 2), row("c1", 2, &[], 4), row("c2", 0, &["x"], 3)]);
    let synthesis = Synthesis {
        recommendation: Recommendation::Adopt { candidate: "c1".into() },
        reasons: Vec::new(),
        matrix_hash: Digest::GENESIS,
        flags: Vec::new(),
    };
    assert_eq!(options(&m, &synthesis), ["adopt c1", "keep production", "reject all"]);
}

#[test]
fn only_a_strictly_dominating_acceptable_candidate_is_chosen_by_policy() {
    let clear = matrix(vec![row("production", 1, &[], 2), row("c1", 2, &[], 2)]);
    assert_eq!(dominant(&clear).map(|r| r.candidate.as_str()), Some("c1"));
    let trade_off = matrix(vec![row("production", 2, &[], 2), row("c1", 2, &[], 1)]);
    let picked = dominant(&trade_off).map(|r| r.candidate.clone());
    assert!(picked.is_none() || picked.as_deref() == Some("c1"), "{picked:?}");
    let tied = matrix(vec![row("production", 2, &[], 2), row("c1", 2, &[], 2)]);
    assert_eq!(dominant(&tied), None, "equal rows do not dominate each other");
}

#[test]
fn provenance_names_every_hunk_of_a_patch() {
    let patch = "diff --git a/src/lib.rs b/src/lib.rs\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n d\n@@ -10,2 +10,3 @@\n x\n+y\n z\n";
    let hunks = provenance("c1", patch);
    assert_eq!(hunks.len(), 2);
    assert!(hunks.iter().all(|h| h.candidate == "c1" && h.file == "src/lib.rs"));
    assert_eq!(hunks[0].hunk, "@@ -1,3 +1,3 @@");
}

#[test]
fn a_combination_must_name_hunks_that_exist_in_its_candidates_diffs() {
    let patch =
        "diff --git a/src/lib.rs b/src/lib.rs\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,1 +1,1 @@\n-old\n+new\n";
    let header = eval::parse_patch(patch)[0].hunks[0].header();
    let patches = BTreeMap::from([("c1".to_owned(), patch.to_owned())]);
    let m = matrix(vec![row("production", 1, &[], 2), row("c1", 2, &[], 4)]);
    let pick = |candidate: &str, file: &str, hunk: &str| Recommendation::Combine {
        hunks: vec![HunkSource { candidate: candidate.into(), file: file.into(), hunk: hunk.into() }],
    };
    assert_eq!(invalid(&pick("c1", "src/lib.rs", &header), &m, &patches), None);
    assert_eq!(invalid(&pick("c1", "src/lib.rs", "*"), &m, &patches), None);
    let made_up = invalid(&pick("c1", "src/lib.rs", "@@ -40,2 +40,3 @@"), &m, &patches).unwrap();
    assert!(made_up.contains("which its diff does not have"), "{made_up}");
    assert!(invalid(&pick("c1", "src/other.rs", "*"), &m, &patches).is_some(), "a file c1 never changed");
    let unknown = invalid(&pick("c9", "src/lib.rs", "*"), &m, &patches).unwrap();
    assert!(unknown.contains("c9, which is not in the matrix"), "{unknown}");
    assert!(invalid(&Recommendation::Adopt { candidate: "c9".into() }, &m, &patches).is_some());
}
