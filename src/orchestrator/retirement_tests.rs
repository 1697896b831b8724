//! Retirement checks over a scripted history: a version slower than its parent, with more
//! send-backs, a lower completion and a flagged synthesis, a failed exhibit and a retired tool,
//! hits each criterion once; the same criteria are not recorded again, and a clear version's
//! proposal is withdrawn.

use jiff::Timestamp;
use serde_json::json;

use super::*;
use crate::orchestrator::metrics::tests::History;
use crate::playbooks::playbook::BUILT_IN;
use crate::protocol::{Author, ExhibitId, ReplayCase, ReplayOutcome, ReplaySource, VersionEvaluation, VersionRun};

/// A version named `hash` of the shipped playbook for bug fixes, its parent `parent`.
fn version(hash: &str, parent: Option<&str>, text: String) -> PlaybookVersion {
    PlaybookVersion {
        hash: hash.into(),
        artifact: Artifact::Playbook,
        name: "default".into(),
        classes: vec![TaskKind::BugFix],
        parent: parent.map(str::to_owned),
        author: Author::Person { name: "ana".into() },
        summary: String::new(),
        created: Timestamp::from_second(1_790_000_000).unwrap(),
        status: VersionStatus::Active,
        decision: None,
        evaluation: None,
        retirement: Vec::new(),
        text,
    }
}

fn bug_fix_text() -> String {
    BUILT_IN[0].1.replacen(
        "kinds = [\"bug_fix\", \"feature\", \"refactor\", \"test_work\", \"ci_repair\", \"dependency_update\", \"security_change\", \"migration\", \"documentation\"]",
        "kinds = [\"bug_fix\"]",
        1,
    )
}

/// `count` bug fixes on playbook version `hash` from `start`: each reaches a PR after `to_pr`
/// seconds unless it is among the last `failed`; `send_backs` of them are sent back once.
fn tasks(h: &mut History, hash: &str, start: i64, count: usize, to_pr: i64, failed: usize, send_backs: usize) {
    for i in 0..count {
        let task = TaskId::new();
        let at = start + 10_000 * i as i64;
        h.created(task, at, "bug_fix");
        h.engine(
            task,
            at + 3,
            json!({"type": "playbook_selected", "playbook": "default", "playbook_version": hash, "policy_version": "p1"}),
        );
        h.gate(task, at + 5, "pull_request");
        if i < send_backs {
            let gate = crate::protocol::GateId::new().to_string();
            h.human(
                task,
                at + 6,
                json!({"type": "sent_back", "gate": gate, "gate_kind": "pull_request", "to": "implement", "note": "n"}),
            );
        }
        let to = if i >= count - failed { "failed" } else { "pr_ready" };
        h.status(task, at + to_pr, "running", to);
    }
}

/// A synthesis on a fresh task of version `hash`, flagged or not.
fn synthesis(h: &mut History, hash: &str, at: i64, flagged: bool) {
    let task = TaskId::new();
    h.created(task, at, "bug_fix");
    h.engine(
        task,
        at + 3,
        json!({"type": "playbook_selected", "playbook": "default", "playbook_version": hash, "policy_version": "p1"}),
    );
    let flags: Vec<&str> =
        if flagged { vec!["contradicts the evidence: recommends `c2`, but c1 is better"] } else { vec![] };
    h.engine(
        task,
        at + 4,
        json!({"type": "synthesis_submitted", "synthesis": {
            "recommendation": {"action": "adopt", "candidate": "c2"}, "reasons": [],
            "matrix_hash": "0".repeat(64), "flags": flags}}),
    );
}

fn contradictions(h: &History) -> Contradictions {
    let mut found = Contradictions::default();
    for event in &h.events {
        found.apply(event);
    }
    found
}

fn proposed(events: &[NewEvent]) -> Vec<PlaybookVersion> {
    events
        .iter()
        .map(|event| match &event.kind {
            EventKind::PlaybookChanged { change: PlaybookChange::RetirementProposed, version } => (**version).clone(),
            other => panic!("{other:?}"),
        })
        .collect()
}

fn evaluation(exhibit_resolved: bool) -> Box<VersionEvaluation> {
    let outcome = |resolved| ReplayOutcome { resolved, ending: "pr".into(), ..ReplayOutcome::default() };
    Box::new(VersionEvaluation {
        at: Timestamp::from_second(1_790_000_000).unwrap(),
        model: "script/scripted".into(),
        budget_micros: 0,
        cases: vec![ReplayCase {
            source: ReplaySource::Exhibit { id: ExhibitId::new() },
            title: "Rounding of the last page".into(),
            base: "abc".into(),
        }],
        proposal: VersionRun { version: "v2".into(), outcomes: vec![outcome(exhibit_resolved)] },
        baseline: VersionRun { version: "v1".into(), outcomes: vec![outcome(true)] },
    })
}

#[test]
fn a_worse_version_hits_every_criterion_once_and_only_changes_are_recorded() {
    let mut h = History::new();
    tasks(&mut h, "v1", 0, 4, 60, 0, 0);
    tasks(&mut h, "v2", 100_000, 4, 300, 1, 2);
    synthesis(&mut h, "v1", 200_000, false);
    synthesis(&mut h, "v2", 210_000, true);
    let parent = version("v1", None, bug_fix_text());
    let mut child =
        version("v2", Some("v1"), bug_fix_text().replacen("\"git_diff\"]", "\"git_diff\", \"browse_web\"]", 1));
    child.evaluation = Some(evaluation(false));
    let mut registry = Registry::new(vec![parent, child]);

    let events = review(&registry, &h.fold(), &contradictions(&h));
    let versions = proposed(&events);
    assert_eq!(versions.len(), 1, "the parent, with no parent of its own and a clean text, hits nothing");
    let hits = &versions[0].retirement;
    assert_eq!(versions[0].hash, "v2");
    assert_eq!(versions[0].status, VersionStatus::Active, "a proposal, never a retirement");
    let starts: Vec<&str> = hits.iter().map(|hit| criterion(hit)).collect();
    assert_eq!(
        starts,
        [
            "slower than its parent",
            "more send-backs per task than its parent",
            "lower completion than its parent",
            "recommendations flagged as contradicting the evidence",
            "fails museum exhibits",
            "depends on a tool that no longer exists",
        ],
        "{hits:#?}"
    );
    assert!(hits[0].contains("5m vs 60s for v1"), "{}", hits[0]);
    assert!(hits[1].contains("0.50 vs 0.00"), "two send-backs over four reviewed tasks: {}", hits[1]);
    assert!(hits[2].contains("75% vs 100%"), "{}", hits[2]);
    assert!(hits[3].contains("1 of 1 syntheses vs 0 of 1"), "{}", hits[3]);
    assert!(hits[4].contains("Rounding of the last page"), "{}", hits[4]);
    assert!(hits[5].contains("`browse_web` (stage `implement`)"), "{}", hits[5]);

    // The store's projection keeps the version as the event carries it: the same criteria, even
    // with moved figures, are not recorded again.
    registry = Registry::new(vec![version("v1", None, bug_fix_text()), versions[0].clone()]);
    tasks(&mut h, "v2", 300_000, 1, 400, 0, 0);
    assert!(review(&registry, &h.fold(), &contradictions(&h)).is_empty());
}

#[test]
fn comparisons_wait_for_enough_tasks_and_a_clear_version_has_its_proposal_withdrawn() {
    let mut h = History::new();
    tasks(&mut h, "v1", 0, 4, 100, 0, 0);
    tasks(&mut h, "v2", 100_000, 2, 1_000, 1, 0);
    let parent = version("v1", None, bug_fix_text());
    let child = version("v2", Some("v1"), bug_fix_text());
    let registry = Registry::new(vec![parent.clone(), child.clone()]);
    assert!(
        review(&registry, &h.fold(), &contradictions(&h)).is_empty(),
        "two finished tasks are not enough to compare"
    );

    // A proposal recorded earlier, and a history in which the version does as well as its parent.
    let mut h = History::new();
    tasks(&mut h, "v1", 0, 4, 100, 0, 0);
    tasks(&mut h, "v2", 100_000, 4, 100, 0, 0);
    let mut flagged = child;
    flagged.retirement = vec!["slower than its parent: median intake to PR 5m vs 100s".into()];
    flagged.evaluation = Some(evaluation(true));
    let registry = Registry::new(vec![parent, flagged]);
    let versions = proposed(&review(&registry, &h.fold(), &contradictions(&h)));
    assert_eq!(versions.len(), 1);
    assert!(versions[0].retirement.is_empty(), "withdrawn: {:?}", versions[0].retirement);
}

#[test]
fn a_version_for_other_classes_than_its_parent_is_compared_on_its_own_classes() {
    let mut h = History::new();
    // The parent serves every class: its feature tasks are slow, its bug fixes quick.
    tasks(&mut h, "v1", 0, 4, 60, 0, 0);
    for i in 0..4 {
        let task = TaskId::new();
        let at = 50_000 + 1_000 * i;
        h.created(task, at, "feature");
        h.status(task, at + 5_000, "running", "pr_ready");
    }
    tasks(&mut h, "v2", 100_000, 4, 200, 0, 0);
    let mut parent = version("v1", None, BUILT_IN[0].1.to_owned());
    parent.classes = TaskKind::ALL.to_vec();
    let child = version("v2", Some("v1"), bug_fix_text());
    let registry = Registry::new(vec![parent, child]);
    let versions = proposed(&review(&registry, &h.fold(), &contradictions(&h)));
    assert_eq!(versions.len(), 1, "{versions:#?}");
    assert_eq!(
        versions[0].retirement,
        ["slower than its parent on bug_fix tasks: median intake to PR 3m vs 60s for v1 (4 finished tasks vs 4)"]
    );
}

#[test]
fn a_text_this_build_no_longer_loads_is_a_retired_dependency() {
    let broken = version("v3", None, bug_fix_text().replacen("kind = \"plan\"", "kind = \"sketch\"", 1));
    let hits = hits(&broken, None, &MetricsFold::default(), &Contradictions::default());
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert!(hits[0].starts_with("depends on what this build no longer accepts"), "{}", hits[0]);
}
