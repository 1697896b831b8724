use super::*;

fn applied(entries: &mut Vec<MemoryEntry>, edit: MemoryEdit) -> Result<MemoryChange, EngineError> {
    let events = edit_events(entries, edit, Actor::local_human())?;
    let EventKind::MemoryChanged { change, entry } = events[0].kind.clone() else { panic!("{events:?}") };
    entries.retain(|e| e.id != entry.id);
    entries.push(entry);
    Ok(change)
}

fn add(repo: &str, kind: MemoryKind, text: &str, scope: &[&str]) -> MemoryEdit {
    MemoryEdit::Add { repo: repo.into(), kind, text: text.into(), scope: scope.iter().map(|s| s.to_string()).collect() }
}

#[test]
fn a_proposal_waits_for_a_human_and_is_never_made_twice() {
    let task = TaskId::new();
    let mut entries = Vec::new();
    let proposed = propose(&entries, task, "/r", MemoryKind::Setup, "Run `cargo fetch` first.".into(), "setup");
    let EventKind::MemoryChanged { entry, .. } = proposed.unwrap().kind else { panic!() };
    assert_eq!(entry.status, MemoryStatus::Pending);
    entries.push(entry.clone());
    assert!(for_task(&entries, "/r", &[]).0.is_empty(), "a pending entry reaches no agent");
    assert!(propose(&entries, task, "/r", MemoryKind::Setup, "Run `cargo fetch` first.".into(), "again").is_none());

    let edited = MemoryEdit::Accept { id: entry.id, text: Some("Dependencies: `cargo fetch` (needs network).".into()) };
    assert_eq!(applied(&mut entries, edited).unwrap(), MemoryChange::Accepted);
    let (given, section) = for_task(&entries, "/r", &["src/lib.rs".into()]);
    assert_eq!(given.len(), 1);
    assert!(section.contains("(setup) Dependencies: `cargo fetch` (needs network)."), "{section}");
    assert!(for_task(&entries, "/other", &[]).0.is_empty(), "another repository's memory stays there");

    let again = applied(&mut entries, MemoryEdit::Accept { id: entry.id, text: None });
    assert!(again.unwrap_err().to_string().contains("is active, not pending"));
    assert_eq!(applied(&mut entries, MemoryEdit::Remove { id: entry.id }).unwrap(), MemoryChange::Removed);
    assert!(for_task(&entries, "/r", &[]).0.is_empty());
    let rejected =
        propose(&entries, task, "/r", MemoryKind::Setup, "Dependencies: `cargo fetch` (needs network).".into(), "x");
    assert!(rejected.is_none(), "what a human removed is not proposed again");
}

#[test]
fn scoped_entries_reach_the_tasks_whose_files_they_name_first() {
    let mut entries = Vec::new();
    applied(&mut entries, add("/r", MemoryKind::Convention, "Errors use thiserror.", &[])).unwrap();
    applied(&mut entries, add("/r", MemoryKind::FlakyTest, "net::timeout_retry is flaky.", &["src/net/**"])).unwrap();
    let (given, _) = for_task(&entries, "/r", &["src/net/retry.rs".into()]);
    let texts: Vec<&str> = given.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(texts, ["net::timeout_retry is flaky.", "Errors use thiserror."]);
    let (given, _) = for_task(&entries, "/r", &["docs/guide.md".into()]);
    assert_eq!(given.len(), 1, "the flaky test of src/net does not concern the docs");
}

#[test]
fn bad_edits_are_refused_with_what_to_do() {
    let mut entries = Vec::new();
    let empty = applied(&mut entries, add("/r", MemoryKind::Convention, "  ", &[])).unwrap_err().to_string();
    assert!(empty.contains("needs a text"), "{empty}");
    let long = "x".repeat(MAX_TEXT + 1);
    assert!(applied(&mut entries, add("/r", MemoryKind::Convention, &long, &[])).is_err());
    let glob = applied(&mut entries, add("/r", MemoryKind::Convention, "a", &["src/[x"])).unwrap_err().to_string();
    assert!(glob.contains("not a glob"), "{glob}");
    applied(&mut entries, add("/r", MemoryKind::Convention, "a", &[])).unwrap();
    let twice = applied(&mut entries, add("/r", MemoryKind::Convention, "a", &[])).unwrap_err().to_string();
    assert!(twice.contains("already says that"), "{twice}");
    let unknown = applied(&mut entries, MemoryEdit::Remove { id: MemoryId::new() }).unwrap_err().to_string();
    assert!(unknown.contains("memory list --all"), "{unknown}");
    let id = entries[0].id;
    let nothing = applied(&mut entries, MemoryEdit::Edit { id, text: None, kind: None, scope: None });
    assert!(nothing.unwrap_err().to_string().contains("nothing to change"));
}

#[test]
fn the_prompt_section_stays_within_its_budget() {
    let mut entries = Vec::new();
    for i in 0..100 {
        applied(&mut entries, add("/r", MemoryKind::Convention, &format!("Convention {i}: {}", "y".repeat(80)), &[]))
            .unwrap();
    }
    let (given, section) = for_task(&entries, "/r", &[]);
    assert!(section.len() <= PROMPT_BUDGET + 200 && given.len() < 100, "{}", section.len());
}

#[test]
fn a_test_seen_flaky_twice_is_proposed_once() {
    use crate::protocol::{EvidenceMatrix, EvidenceRow, TaskSpec};
    let mut task = crate::domain::task::fresh(TaskSpec::titled("t"));
    task.spec.repo = Some("/r".into());
    let row = |candidate: &str, flaky: &[&str]| EvidenceRow {
        candidate: candidate.into(),
        flaky: flaky.iter().map(|t| t.to_string()).collect(),
        ..EvidenceRow::default()
    };
    let matrix = EvidenceMatrix {
        rows: vec![row("c1", &["net::retry", "db::pool"]), row("c2", &["net::retry"])],
        ..EvidenceMatrix::default()
    };
    let mut entries: Vec<MemoryEntry> = Vec::new();
    let sight = |entries: &mut Vec<MemoryEntry>| -> Vec<(MemoryChange, MemoryStatus, String)> {
        let events = flaky_proposals(entries, &task, &matrix);
        events
            .into_iter()
            .map(|event| {
                let EventKind::MemoryChanged { change, entry } = event.kind else { panic!() };
                entries.retain(|e| e.id != entry.id);
                entries.push(entry.clone());
                (change, entry.status, entry.text)
            })
            .collect()
    };
    let first = sight(&mut entries);
    assert_eq!(first.len(), 2, "{first:?}");
    assert!(first.iter().all(|(c, s, _)| *c == MemoryChange::Observed && *s == MemoryStatus::Observed));
    assert!(first[0].2.starts_with("`db::pool` is flaky") && first[1].2.starts_with("`net::retry` is flaky"));
    assert!(for_task(&entries, "/r", &[]).0.is_empty(), "seen once reaches no agent");
    let second = sight(&mut entries);
    assert!(second.iter().all(|(c, s, _)| *c == MemoryChange::Proposed && *s == MemoryStatus::Pending), "{second:?}");
    assert!(sight(&mut entries).is_empty(), "a pending proposal is not made again");
}

#[test]
fn stale_entries_are_those_whose_files_are_gone_or_unconfirmed_for_half_a_year() {
    let mut entries = Vec::new();
    applied(&mut entries, add("/r", MemoryKind::Convention, "Errors use thiserror.", &[])).unwrap();
    applied(&mut entries, add("/r", MemoryKind::FlakyTest, "net::retry is flaky.", &["src/net/**"])).unwrap();
    let tracked = vec!["src/lib.rs".to_owned(), "src/page.rs".to_owned()];
    let now = Timestamp::now();
    assert_eq!(staleness(&entries[0], &tracked, now), None);
    let gone = staleness(&entries[1], &tracked, now).unwrap();
    assert!(gone.contains("no file matches its scope (src/net/**)"), "{gone}");
    let later = now.checked_add(jiff::SignedDuration::from_hours(24 * (STALE_AFTER_DAYS + 1))).unwrap();
    assert!(staleness(&entries[0], &tracked, later).unwrap().contains("no one confirmed it for"));

    // Seen again a day later, an active entry is confirmed, not proposed twice.
    let old =
        MemoryEntry { confirmed: now.checked_sub(jiff::SignedDuration::from_hours(48)).unwrap(), ..entries[0].clone() };
    let again = propose(&[old], TaskId::new(), "/r", MemoryKind::Convention, "Errors use thiserror.".into(), "seen");
    let EventKind::MemoryChanged { change, entry } = again.unwrap().kind else { panic!() };
    assert_eq!(change, MemoryChange::Confirmed);
    assert!(entry.confirmed > now.checked_sub(jiff::SignedDuration::from_hours(1)).unwrap());
}

#[test]
fn codeowners_rules_are_proposed_as_scoped_ownership() {
    use crate::context::OwnerRule;
    let mut task = crate::domain::task::fresh(crate::protocol::TaskSpec::titled("t"));
    task.spec.repo = Some("/r".into());
    let rules = vec![OwnerRule {
        pattern: "src/auth/".into(),
        glob: "src/auth/**".into(),
        owners: vec!["@org/security".into(), "@ada".into()],
    }];
    let proposals = ownership_proposals(&[], &task, &rules);
    let EventKind::MemoryChanged { entry, .. } = &proposals[0].kind else { panic!() };
    assert_eq!(entry.text, "`src/auth/` is owned by @org/security @ada: they review changes there.");
    assert_eq!(
        (entry.kind, entry.status, entry.scope.clone()),
        (MemoryKind::Ownership, MemoryStatus::Pending, vec!["src/auth/**".to_owned()])
    );
    assert!(ownership_proposals(std::slice::from_ref(entry), &task, &rules).is_empty());
}

#[test]
fn a_send_back_note_said_before_on_the_repository_is_proposed_as_a_convention() {
    use crate::domain::EngineerNote;
    use crate::protocol::{GateKind, TaskSpec};
    let task_in = |repo: &str| {
        let mut task = crate::domain::task::fresh(TaskSpec::titled("t"));
        task.spec.repo = Some(repo.into());
        task
    };
    let mut earlier = task_in("/r");
    earlier.notes.push(EngineerNote {
        text: "Please keep the public signatures unchanged and add a regression test".into(),
        gate: Some(GateKind::PullRequest),
        from: None,
        seq: 7,
    });
    let elsewhere = {
        let mut other = task_in("/other");
        other.notes = earlier.notes.clone();
        other
    };
    let now = task_in("/r");
    let note = "Keep public signatures unchanged, and add a regression test first";
    let proposal = repeated_note_proposal(&[], &[earlier.clone(), now.clone()], &now, note).unwrap();
    let EventKind::MemoryChanged { entry, .. } = proposal.kind else { panic!() };
    assert_eq!((entry.kind, entry.text.as_str()), (MemoryKind::Convention, note));
    assert!(repeated_note_proposal(&[], &[elsewhere, now.clone()], &now, note).is_none(), "another repository's");
    let unrelated = "Rename the variable to something clearer";
    assert!(repeated_note_proposal(&[], &[earlier, now.clone()], &now, unrelated).is_none());
}

#[test]
fn a_review_finding_repeated_on_another_task_of_the_repository_is_proposed_as_a_failure_pattern() {
    use crate::protocol::{Finding, Review, ReviewVerdict, TaskSpec};
    let task_in = |repo: &str| {
        let mut task = crate::domain::task::fresh(TaskSpec::titled("t"));
        task.spec.repo = Some(repo.into());
        task
    };
    let finding = |severity: &str, message: &str| Finding {
        severity: severity.into(),
        category: "correctness".into(),
        file: Some("src/retry.rs".into()),
        message: message.into(),
    };
    let review =
        |findings: Vec<Finding>| Review { verdict: ReviewVerdict::RequestChanges, findings, summary: String::new() };
    let mut earlier = task_in("/r");
    earlier.review = Some(review(vec![finding("major", "The retry loop never stops on a permanent 4xx error")]));
    let now = task_in("/r");
    let repeated = review(vec![
        finding("major", "Retry loop does not stop on permanent 4xx errors"),
        finding("nit", "Retry loop does not stop on permanent 4xx errors, nit"),
        finding("minor", "Rename the variable"),
    ]);
    let proposals = repeated_finding_proposals(&[], &[earlier.clone(), now.clone()], &now, &repeated);
    assert_eq!(proposals.len(), 1, "{proposals:#?}");
    let EventKind::MemoryChanged { entry, .. } = &proposals[0].kind else { panic!() };
    assert_eq!(entry.kind, MemoryKind::FailurePattern);
    assert_eq!(entry.text, "(correctness) src/retry.rs: Retry loop does not stop on permanent 4xx errors");
    assert_eq!((entry.status, entry.scope.clone()), (MemoryStatus::Pending, vec!["src/retry.rs".to_owned()]));
    let mut elsewhere = earlier;
    elsewhere.spec.repo = Some("/other".into());
    assert!(repeated_finding_proposals(&[], &[elsewhere, now.clone()], &now, &repeated).is_empty());
}
