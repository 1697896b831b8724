//! The registry's rules on the shipped playbooks: loaded versions are recorded once, proposals
//! are checked, promotion needs evidence and a person, and a rollback restores what ran before.

use super::*;
use crate::playbooks::playbook::BUILT_IN;
use crate::protocol::{ReplayCase, ReplayOutcome, ReplaySource, VersionEvaluation, VersionRun};

fn now() -> Timestamp {
    Timestamp::from_second(1_790_000_000).unwrap()
}

fn person() -> Actor {
    Actor::Human { name: Some("ana".into()) }
}

/// Applies `events` to `registry` the way the store's projection does.
fn versions(events: &[NewEvent]) -> Vec<PlaybookVersion> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::PlaybookChanged { version, .. } => Some((**version).clone()),
            _ => None,
        })
        .collect()
}

fn loaded() -> (Registry, Playbooks, Policy) {
    let playbooks = Playbooks::built_in().unwrap();
    let policy = Policy::built_in().unwrap();
    let mut registry = Registry::default();
    let events = registry.record_loaded(&playbooks, &policy, now());
    assert_eq!(versions(&events).len(), 3, "the playbook, the exploration playbook and the policy");
    (registry, playbooks, policy)
}

/// The shipped playbook renamed to `name` for bug fixes only, with `marker` in its plan prompt.
fn bug_fix_text(name: &str, marker: &str) -> String {
    BUILT_IN[0]
        .1
        .replacen("name = \"right_hand\"", &format!("name = \"{name}\""), 1)
        .replacen("kinds = [\"bug_fix\", \"feature\", \"refactor\", \"test_work\", \"ci_repair\", \"dependency_update\", \"security_change\", \"migration\", \"documentation\"]", "kinds = [\"bug_fix\"]", 1)
        .replacen("You are the planner", &format!("{marker} You are the planner"), 1)
}

fn evaluation(proposal: &str, baseline: &str) -> Box<VersionEvaluation> {
    let outcome = |resolved| ReplayOutcome { resolved, ending: "pr".into(), ..ReplayOutcome::default() };
    Box::new(VersionEvaluation {
        at: now(),
        model: "script/scripted".into(),
        budget_micros: 0,
        cases: vec![ReplayCase {
            source: ReplaySource::Task { id: TaskId::new() },
            title: "Fix rounding".into(),
            base: "abc".into(),
        }],
        proposal: VersionRun { version: proposal.into(), outcomes: vec![outcome(true)] },
        baseline: VersionRun { version: baseline.into(), outcomes: vec![outcome(false)] },
    })
}

#[test]
fn loaded_versions_are_recorded_once_and_a_new_text_replaces_its_name_with_a_parent() {
    let (mut registry, playbooks, policy) = loaded();
    assert!(registry.record_loaded(&playbooks, &policy, now()).is_empty(), "the same texts are not recorded again");
    let first = registry.active(Artifact::Playbook, "right_hand").unwrap().hash.clone();
    assert!(matches!(&registry.get(&first).unwrap().author, Author::File { path } if path.contains("right_hand.toml")));

    let edited =
        Playbook::parse(&BUILT_IN[0].1.replace("You are the planner", "You plan."), "repo/right_hand.toml").unwrap();
    let mut changed = playbooks.clone();
    changed.insert(edited.clone());
    let events = registry.record_loaded(&changed, &policy, now());
    let kinds: Vec<_> = events
        .iter()
        .map(|e| match &e.kind {
            EventKind::PlaybookChanged { change, version } => (*change, version.status),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [(PlaybookChange::Retired, VersionStatus::Retired), (PlaybookChange::Recorded, VersionStatus::Active)]
    );
    let now_active = registry.active(Artifact::Playbook, "right_hand").unwrap();
    assert_eq!(now_active.hash, edited.version);
    assert_eq!(now_active.parent.as_deref(), Some(first.as_str()));
    assert_eq!(registry.history("right_hand").len(), 2);
}

#[test]
fn a_proposal_is_promoted_only_by_a_person_with_evidence_and_a_rollback_restores_the_class() {
    let (mut registry, playbooks, _) = loaded();
    let text = bug_fix_text("careful_fix", "Reproduce the bug first.");
    let proposed = registry
        .edit_events(RegistryEdit::Propose { text: text.clone(), summary: "repro first".into() }, &person(), now())
        .unwrap();
    let proposal = versions(&proposed).remove(0);
    assert_eq!(proposal.status, VersionStatus::Proposed);
    assert_eq!(proposal.classes, [TaskKind::BugFix]);
    let right_hand = registry.active(Artifact::Playbook, "right_hand").unwrap().hash.clone();
    assert_eq!(proposal.parent.as_deref(), Some(right_hand.as_str()), "a new name's parent serves its class now");
    assert_eq!(
        registry.effective(&playbooks).for_kind(TaskKind::BugFix).unwrap().name,
        "right_hand",
        "proposed is not used"
    );

    let again = registry.edit_events(RegistryEdit::Propose { text, summary: String::new() }, &person(), now());
    assert!(again.unwrap_err().to_string().contains("already version"));
    let broken = registry.edit_events(
        RegistryEdit::Propose { text: "name = 1".into(), summary: String::new() },
        &person(),
        now(),
    );
    assert!(broken.unwrap_err().to_string().contains("the proposal"), "a proposal is checked like a playbook file");

    let short = proposal.short().to_owned();
    let promote = |registry: &mut Registry, actor: &Actor| {
        registry.edit_events(RegistryEdit::Promote { version: short.clone(), note: "better".into() }, actor, now())
    };
    let refused = promote(&mut registry, &person()).unwrap_err().to_string();
    assert!(refused.contains("no shadow evaluation") && refused.contains("ambidex playbook evaluate"), "{refused}");
    let eval = evaluation(&proposal.hash, &right_hand);
    registry
        .edit_events(RegistryEdit::Evaluated { version: short.clone(), evaluation: eval }, &Actor::Orchestrator, now())
        .unwrap();
    let agent = Actor::Agent(crate::protocol::AgentIdentity {
        role: crate::protocol::Role::Synthesis,
        track: crate::protocol::Track::Left,
        candidate: None,
    });
    for machine in [Actor::Orchestrator, agent] {
        let refused = promote(&mut registry, &machine).unwrap_err().to_string();
        assert!(refused.contains("only a person may promote"), "{refused}");
    }
    let promoted = promote(&mut registry, &person()).unwrap();
    let promoted = versions(&promoted).pop().unwrap();
    assert_eq!(promoted.status, VersionStatus::Active);
    assert!(promoted.decision.as_deref().unwrap().contains("promoted by human:ana: better"));
    let effective = registry.effective(&playbooks);
    assert_eq!(effective.for_kind(TaskKind::BugFix).unwrap().version, promoted.hash, "bug fixes run with it");
    assert_eq!(effective.for_kind(TaskKind::Feature).unwrap().name, "right_hand", "other classes do not");

    let rolled = registry.edit_events(RegistryEdit::Rollback { class: TaskKind::BugFix }, &person(), now()).unwrap();
    assert_eq!(versions(&rolled)[0].status, VersionStatus::Retired);
    let effective = registry.effective(&playbooks);
    assert_eq!(
        effective.for_kind(TaskKind::BugFix).unwrap().name,
        "right_hand",
        "the class runs with what it ran before"
    );
    let nothing = registry.edit_events(RegistryEdit::Rollback { class: TaskKind::BugFix }, &person(), now());
    assert!(nothing.unwrap_err().to_string().contains("nothing to roll back to"));
}

#[test]
fn a_rollback_of_a_replaced_name_brings_its_parent_back() {
    let (mut registry, playbooks, _) = loaded();
    let first = registry.active(Artifact::Playbook, "right_hand").unwrap().hash.clone();
    let text = BUILT_IN[0].1.replacen("You are the planner", "Plan briefly. You are the planner", 1);
    let proposed = versions(
        &registry.edit_events(RegistryEdit::Propose { text, summary: String::new() }, &person(), now()).unwrap(),
    );
    let second = proposed[0].hash.clone();
    registry
        .edit_events(
            RegistryEdit::Evaluated { version: second.clone(), evaluation: evaluation(&second, &first) },
            &person(),
            now(),
        )
        .unwrap();
    registry
        .edit_events(RegistryEdit::Promote { version: second.clone(), note: String::new() }, &person(), now())
        .unwrap();
    assert_eq!(registry.get(&first).unwrap().status, VersionStatus::Retired, "one active version per name");
    assert_eq!(registry.effective(&playbooks).get("right_hand").unwrap().version, second);

    let events = registry.edit_events(RegistryEdit::Rollback { class: TaskKind::Feature }, &person(), now()).unwrap();
    let changes: Vec<_> = versions(&events).into_iter().map(|v| (v.hash, v.status)).collect();
    assert_eq!(changes, [(second.clone(), VersionStatus::Retired), (first.clone(), VersionStatus::Active)]);
    assert_eq!(registry.effective(&playbooks).get("right_hand").unwrap().version, first);
}

#[test]
fn a_strategy_that_keeps_winning_is_proposed_once_with_its_brief_in_the_implementer_prompt() {
    let (mut registry, playbooks, _) = loaded();
    let strategy = strategy(&playbooks.left_hand, "test_first").unwrap();
    let tasks = vec![TaskId::new(), TaskId::new(), TaskId::new()];
    let event = registry.strategy_proposal(&playbooks, strategy, TaskKind::BugFix, tasks.clone(), now()).unwrap();
    let version = versions(&[event]).remove(0);
    assert_eq!(version.name, "bug_fix_test_first");
    assert_eq!(version.classes, [TaskKind::BugFix]);
    assert_eq!(version.status, VersionStatus::Proposed);
    assert!(
        matches!(&version.author, Author::Strategy { strategy, class: TaskKind::BugFix, tasks: won } if strategy == "test_first" && *won == tasks)
    );
    let playbook = Playbook::parse(&version.text, "p").unwrap();
    assert!(playbook.first_of(StageKind::Implement).unwrap().prompt.contains(strategy.brief.trim()));
    assert_eq!(version.parent.as_deref(), Some(playbooks.get("right_hand").unwrap().version.as_str()));
    assert!(version.summary.contains("won the promotion gate on 3 bug_fix tasks"), "{}", version.summary);
    assert!(
        registry.strategy_proposal(&playbooks, strategy, TaskKind::BugFix, tasks, now()).is_none(),
        "proposed once"
    );
}

#[test]
fn versions_are_found_by_a_unique_prefix() {
    let (registry, _, _) = loaded();
    let hash = registry.active(Artifact::Policy, "policy").unwrap().hash.clone();
    assert_eq!(registry.find(&hash[..8]).unwrap().hash, hash);
    assert!(registry.find("ab").unwrap_err().to_string().contains("at least 4"));
    assert!(registry.find("zzzzzz").unwrap_err().to_string().contains("no version zzzzzz"));
}
