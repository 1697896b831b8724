use super::*;
use crate::protocol::{EvidenceRow, TestCase, TestFramework, TestReport, TestStatus};

fn exhibit_of(events: &[NewEvent]) -> (ExhibitChange, Exhibit) {
    let EventKind::ExhibitChanged { change, exhibit } = events[0].kind.clone() else { panic!("{events:?}") };
    (change, *exhibit)
}

fn new_exhibit(source: ExhibitSource) -> NewExhibit {
    NewExhibit {
        repo: "/repo".into(),
        title: "get_int does not sign-extend".into(),
        base: "abc123".into(),
        reproducer: Reproducer {
            command: "cargo test".into(),
            tests: vec![" t2 ".into(), "t1".into(), "t1".into()],
            tests_patch: None,
        },
        bug_patch: None,
        fix_patch: Some("diff".into()),
        files: vec!["src/buf.rs".into()],
        root_cause: "".into(),
        check: "".into(),
        source,
        links: ExhibitLinks::default(),
        verification: Some(Verification { at: Timestamp::now(), reproduces: true, detail: "ok".into() }),
    }
}

#[test]
fn an_added_exhibit_is_kept_with_clean_test_names_and_is_evidence() {
    let add = MuseumEdit::Add { exhibit: Box::new(new_exhibit(ExhibitSource::Human)) };
    let (change, exhibit) = exhibit_of(&edit_events(&[], add, Actor::local_human()).unwrap());
    assert_eq!(change, ExhibitChange::Added);
    assert_eq!(exhibit.status, ExhibitStatus::Kept);
    assert_eq!(exhibit.reproducer.tests, vec!["t1", "t2"]);
    assert!(exhibit.is_evidence());
    assert_eq!(relevant(std::slice::from_ref(&exhibit), "/repo", &["src/buf.rs".into()]).len(), 1);
    assert!(relevant(std::slice::from_ref(&exhibit), "/repo", &["src/other.rs".into()]).is_empty());
    assert!(relevant(std::slice::from_ref(&exhibit), "/elsewhere", &["src/buf.rs".into()]).is_empty());
}

#[test]
fn the_same_fix_is_not_imported_twice_and_only_humans_or_imports_add() {
    let imported = ExhibitSource::Imported { fix: "f00d".into() };
    let mut new = new_exhibit(imported.clone());
    new.links.commit = Some("f00d".into());
    let (_, kept) = exhibit_of(
        &edit_events(&[], MuseumEdit::Add { exhibit: Box::new(new.clone()) }, Actor::local_human()).unwrap(),
    );
    let again = edit_events(&[kept], MuseumEdit::Add { exhibit: Box::new(new) }, Actor::local_human());
    assert!(again.unwrap_err().to_string().contains("already holds fix f00d"));
    let claimed = new_exhibit(ExhibitSource::Breaker { task: TaskId::new(), breaker: "x".into() });
    assert!(edit_events(&[], MuseumEdit::Add { exhibit: Box::new(claimed) }, Actor::local_human()).is_err());
}

fn broken_row() -> EvidenceRow {
    EvidenceRow {
        candidate: "c2".into(),
        strategy: "alternative_design".into(),
        broken: vec!["tests::keeps_order".into()],
        reports: vec![TestReport {
            command: "cargo test".into(),
            framework: TestFramework::Libtest,
            exit_code: Some(101),
            ok: false,
            duration_ms: 1,
            tests: vec![TestCase {
                name: "tests::keeps_order".into(),
                status: TestStatus::Failed,
                duration_ms: None,
                output: String::new(),
            }],
        }],
        ..EvidenceRow::default()
    }
}

#[test]
fn a_candidate_that_broke_a_test_leaves_one_pending_exhibit_which_a_human_keeps() {
    let task = crate::domain::task::fresh(crate::protocol::TaskSpec::titled("t"));
    let files = vec!["src/lib.rs".to_owned(), "tests/order.rs".to_owned()];
    let proposal = broken_proposal(&[], &task, "base1", &broken_row(), "the patch", &files).unwrap();
    let (change, exhibit) = exhibit_of(std::slice::from_ref(&proposal));
    assert_eq!(change, ExhibitChange::Proposed);
    assert_eq!(exhibit.status, ExhibitStatus::Pending);
    assert_eq!(exhibit.reproducer.command, "cargo test");
    assert_eq!(exhibit.reproducer.tests, vec!["tests::keeps_order"]);
    assert_eq!(exhibit.files, vec!["src/lib.rs"], "test files are not where the bug lives");
    assert_eq!(exhibit.bug_patch.as_deref(), Some("the patch"));
    assert!(!exhibit.is_evidence(), "pending exhibits are not run against candidates");
    assert!(broken_proposal(std::slice::from_ref(&exhibit), &task, "base1", &broken_row(), "p", &files).is_none());

    let kept = edit_events(std::slice::from_ref(&exhibit), MuseumEdit::Accept { id: exhibit.id }, Actor::local_human());
    let (change, kept) = exhibit_of(&kept.unwrap());
    assert_eq!((change, kept.status), (ExhibitChange::Accepted, ExhibitStatus::Kept));
    assert!(kept.is_evidence());
    let twice = edit_events(std::slice::from_ref(&kept), MuseumEdit::Accept { id: kept.id }, Actor::local_human());
    assert!(twice.unwrap_err().to_string().contains("not pending"));
}

#[test]
fn a_changed_reproducer_is_unverified_until_checked_again() {
    let (_, kept) = exhibit_of(
        &edit_events(
            &[],
            MuseumEdit::Add { exhibit: Box::new(new_exhibit(ExhibitSource::Human)) },
            Actor::local_human(),
        )
        .unwrap(),
    );
    let edit = MuseumEdit::Edit {
        id: kept.id,
        title: None,
        root_cause: None,
        check: None,
        command: Some("make test".into()),
        tests: None,
    };
    let (_, edited) = exhibit_of(&edit_events(std::slice::from_ref(&kept), edit, Actor::local_human()).unwrap());
    assert_eq!(edited.reproducer.command, "make test");
    assert!(edited.verification.is_none() && !edited.is_evidence());
    let verified = Verification { at: Timestamp::now(), reproduces: true, detail: "fails on the base".into() };
    let edit = MuseumEdit::Verified { id: kept.id, verification: verified };
    let (change, checked) = exhibit_of(&edit_events(&[edited], edit, Actor::local_human()).unwrap());
    assert_eq!(change, ExhibitChange::Verified);
    assert!(checked.is_evidence());
}

#[test]
fn a_note_sent_back_and_a_breaker_trip_are_proposed_once() {
    let mut task = crate::domain::task::fresh(crate::protocol::TaskSpec::titled("t"));
    let gate = GateId::new();
    let note = "the retry loop never gives up on a 4xx\nit should stop";
    assert!(sent_back_proposal(&[], &task, gate, note).is_none(), "no worktree, no base to keep");
    task.worktrees.push(crate::domain::WorktreeRef {
        candidate: "production".into(),
        path: "/w".into(),
        branch: "b".into(),
        base: "base1".into(),
        set_up: true,
    });
    let proposal = sent_back_proposal(&[], &task, gate, note).unwrap();
    let (_, exhibit) = exhibit_of(std::slice::from_ref(&proposal));
    assert_eq!(exhibit.title, "sent back: the retry loop never gives up on a 4xx");
    assert_eq!((exhibit.links.gate, exhibit.base.as_str()), (Some(gate), "base1"));
    assert!(!exhibit.reproducer.is_known());
    assert!(sent_back_proposal(&[exhibit], &task, gate, note).is_none());
    assert!(sent_back_proposal(&[], &task, gate, "  ").is_none());

    let trip = breaker_proposal(&[], &task, "no_progress", "three attempts, same failure").unwrap();
    let (_, exhibit) = exhibit_of(std::slice::from_ref(&trip));
    assert_eq!(exhibit.root_cause, "three attempts, same failure");
    assert!(breaker_proposal(&[exhibit], &task, "no_progress", "again").is_none());
}

#[test]
fn a_revert_of_a_delivered_change_is_proposed_by_its_commit_or_its_title() {
    let delivered = |title: &str, commit: &str| {
        let mut task = crate::domain::task::fresh(crate::protocol::TaskSpec::titled(title));
        task.worktrees.push(crate::domain::WorktreeRef {
            candidate: "production".into(),
            path: "/w".into(),
            branch: "b".into(),
            base: "base1".into(),
            set_up: true,
        });
        task.pr = Some(crate::protocol::PullRequest {
            branch: "ambidex/x/production".into(),
            base_branch: "main".into(),
            commit: commit.into(),
            title: title.into(),
            body: String::new(),
            draft: true,
            location: "https://forge/pr/7".into(),
        });
        task
    };
    let by_commit = delivered("Round page counts up", "0123456789abcdef0123456789abcdef01234567");
    let by_title = delivered("Guard a zero page size", "fedcba9876543210fedcba9876543210fedcba98");
    let untouched = delivered("Guard", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    let reverts = vec![
        RevertCommit {
            id: "r1".into(),
            summary: "Revert \"Round page counts up\"".into(),
            reverted: Some("0123456789ab".into()),
        },
        RevertCommit { id: "r2".into(), summary: "Revert \"Guard a zero page size (#12)\"".into(), reverted: None },
    ];
    let tasks = [by_commit.clone(), by_title.clone(), untouched];
    let proposals = reverted_proposals(&[], &tasks, &reverts);
    assert_eq!(proposals.len(), 2, "`Guard` is only a prefix of a reverted title: {proposals:#?}");
    let (_, first) = exhibit_of(&proposals[..1]);
    assert_eq!(first.source, ExhibitSource::Reverted { task: by_commit.id, revert: "r1".into() });
    assert_eq!((first.links.commit.as_deref(), first.links.pr.as_deref()), (Some("r1"), Some("https://forge/pr/7")));
    assert_eq!(first.title, "reverted: Round page counts up");
    let (_, second) = exhibit_of(&proposals[1..]);
    assert_eq!(second.links.task, Some(by_title.id));
    assert!(reverted_proposals(&[first, second], &tasks, &reverts).is_empty(), "proposed once");
}
