use super::*;

fn row(label: &str, validation_ok: bool, acceptance_passed: u32, broken: &[&str]) -> EvidenceRow {
    EvidenceRow {
        candidate: label.into(),
        validation_ok,
        tests_failed: u32::from(!validation_ok),
        broken: broken.iter().map(|b| b.to_string()).collect(),
        acceptance_passed,
        acceptance_total: 2,
        acceptance_failed: (acceptance_passed..2).map(|n| format!("accept_{n}")).collect(),
        ..EvidenceRow::default()
    }
}

fn matrix() -> EvidenceMatrix {
    EvidenceMatrix {
        rows: vec![row("production", false, 0, &[]), row("c1", true, 2, &[]), row("c2", true, 1, &["words_keep_case"])],
        ..EvidenceMatrix::default()
    }
}

fn reason(text: &str) -> SynthesisReason {
    SynthesisReason { text: text.into(), rows: Vec::new() }
}

#[test]
fn keeping_a_production_change_that_fails_its_acceptance_tests_is_flagged_with_the_cells() {
    let flags = contradictions(
        &Recommendation::KeepProduction,
        &[reason("keep production: production passes validation and is the smallest change")],
        &matrix(),
    );
    assert!(
        flags.iter().any(|f| f.starts_with("contradicts the evidence: recommends `keep production`, but c1")
            && f.contains("c1: validation passes, acceptance 2/2, 0 regressions")
            && f.contains("production: validation FAILS, acceptance 0/2")),
        "{flags:#?}"
    );
    assert!(
        flags
            .iter()
            .any(|f| f.contains("the synthesis says \"production passes validation and is the smallest change\"")),
        "the false claim is quoted: {flags:#?}"
    );
}

#[test]
fn a_recommendation_the_evidence_supports_is_not_flagged() {
    let reasons = [
        reason("c1 passes both acceptance tests and every existing test"),
        reason("production fails accept_0; c2 breaks words_keep_case, so it does not pass validation cleanly"),
    ];
    let flags = contradictions(&Recommendation::Adopt { candidate: "c1".into() }, &reasons, &matrix());
    assert!(flags.is_empty(), "{flags:#?}");
}

#[test]
fn a_claim_is_judged_against_the_candidate_it_is_about() {
    // c2 is named last before the claim: the claim is about c2, whose row breaks a test.
    let flags = contradictions(
        &Recommendation::Adopt { candidate: "c1".into() },
        &[reason("unlike production, c2 has no regressions")],
        &matrix(),
    );
    assert_eq!(flags.len(), 1, "{flags:#?}");
    assert!(flags[0].contains("c2: validation passes, acceptance 1/2, 1 regressions"), "{flags:#?}");
    // A negated claim asserts nothing.
    let negated = contradictions(
        &Recommendation::Adopt { candidate: "c1".into() },
        &[reason("production does not pass validation")],
        &matrix(),
    );
    assert!(negated.is_empty(), "{negated:#?}");
    // Labels match whole words only: `c1` is not inside `c10`.
    assert_eq!(last_word("c10 then c1x", "c1"), None);
    assert_eq!(last_word("see c1, then c1.", "c1"), Some(15));
}

#[test]
fn adopting_a_worse_candidate_or_rejecting_an_acceptable_one_is_flagged() {
    let worse = contradictions(&Recommendation::Adopt { candidate: "c2".into() }, &[], &matrix());
    assert_eq!(worse.len(), 1, "c1 beats c2 on acceptance and regressions: {worse:#?}");
    assert!(worse[0].contains("but c1 has better evidence than c2"), "{worse:#?}");
    let rejected = contradictions(&Recommendation::RejectAll, &[], &matrix());
    assert_eq!(rejected.len(), 1, "{rejected:#?}");
    assert!(rejected[0].contains("but c1 is acceptable"), "{rejected:#?}");
}
