use super::*;
use crate::domain::task::fresh;
use crate::protocol::{CiReport, PullRequest, TaskSpec};

const COMMIT: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c";

fn delivered() -> Task {
    let mut task = fresh(TaskSpec::titled("Round pages up"));
    task.status = TaskStatus::PrReady;
    task.pr = Some(PullRequest {
        branch: "ambidex/x/production".into(),
        base_branch: "main".into(),
        commit: COMMIT.into(),
        title: "Round pages up".into(),
        body: String::new(),
        draft: true,
        location: "https://github.com/acme/widgets/pull/3".into(),
    });
    task
}

fn review(id: &str) -> ForgeReview {
    ForgeReview {
        id: id.into(),
        author: "alice".into(),
        requests_changes: true,
        body: "Cover zero.".into(),
        comments: Vec::new(),
        url: None,
    }
}

fn ci(commit: &str, state: CiState) -> CiReport {
    CiReport { commit: commit.into(), checks: vec![CiCheck { name: "test".into(), state, url: None }] }
}

#[test]
fn only_reviews_no_round_acted_on_are_new() {
    let mut task = delivered();
    task.reviews_acted_on = vec!["review-1".into()];
    let found = new_feedback(&task, Some(&[review("review-1"), review("review-2")]), true);
    assert_eq!(found.reviews, [review("review-2")]);
    assert!(new_feedback(&task, None, true).is_empty(), "an unchanged listing has nothing new");
}

#[test]
fn a_settled_failure_of_the_prs_head_commit_is_feedback_once() {
    let mut task = delivered();
    task.ci = Some(ci(COMMIT, CiState::Failed));
    assert_eq!(new_feedback(&task, None, true).failed_checks.len(), 1);
    assert!(new_feedback(&task, None, false).is_empty(), "CI reworks are off");
    task.reviews_acted_on.push(ci_feedback_id(COMMIT));
    assert!(new_feedback(&task, None, true).is_empty(), "this commit's failure was acted on");
    for not_yet in [ci(COMMIT, CiState::Pending), ci("an older commit", CiState::Failed), ci(COMMIT, CiState::Passed)] {
        let mut task = delivered();
        task.ci = Some(not_yet.clone());
        assert!(new_feedback(&task, None, true).is_empty(), "{not_yet:?}");
    }
}
