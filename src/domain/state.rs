//! The task state machine: which status may follow which.
//!
//! The store refuses an event that makes an illegal move, so a projection can never reach a state
//! the machine does not allow.

use crate::protocol::TaskStatus;

/// A move the state machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a task cannot go from `{from}` to `{to}`{}", allowed_hint(*.from))]
pub struct IllegalTransition {
    /// Where the task is.
    pub from: TaskStatus,
    /// Where it was asked to go.
    pub to: TaskStatus,
}

fn allowed_hint(from: TaskStatus) -> String {
    let next = successors(from);
    if next.is_empty() {
        format!(" (`{from}` is final)")
    } else {
        let names: Vec<&str> = next.iter().map(|s| s.as_str()).collect();
        format!(" (from `{from}` it may go to: {})", names.join(", "))
    }
}

/// The statuses a task may move to from `from`.
pub fn successors(from: TaskStatus) -> &'static [TaskStatus] {
    use TaskStatus::*;
    match from {
        Received => &[NeedsClarification, Rejected, Escalated, Queued, Cancelled],
        NeedsClarification => &[Received, Cancelled],
        Escalated => &[Received, Cancelled],
        Queued => &[Running, Cancelled],
        Running => &[AwaitingGate, Interrupted, PrReady, Failed, Cancelled],
        AwaitingGate => &[Running, Queued, Failed, Cancelled],
        Interrupted => &[Running, Queued, Cancelled],
        Failed => &[Queued, Cancelled],
        // Feedback on the PR (a review, failed CI) sends the work back.
        PrReady => &[Queued],
        Rejected | Cancelled => &[],
    }
}

/// Checks one move.
pub fn check_transition(from: TaskStatus, to: TaskStatus) -> Result<(), IllegalTransition> {
    if successors(from).contains(&to) { Ok(()) } else { Err(IllegalTransition { from, to }) }
}

/// Whether no further move is possible.
pub fn is_final(status: TaskStatus) -> bool {
    successors(status).is_empty()
}

/// Whether the engine has nothing left to do for a task in this status: a final status, or a
/// delivered PR (which only feedback on the forge reopens). Indexes of unfinished work, cleaning
/// and cancelling go by this.
pub fn is_settled(status: TaskStatus) -> bool {
    is_final(status) || status == TaskStatus::PrReady
}

/// Whether the engine is (or should be) working on a task in this status.
pub fn is_active(status: TaskStatus) -> bool {
    matches!(status, TaskStatus::Queued | TaskStatus::Running | TaskStatus::AwaitingGate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use TaskStatus::*;

    #[test]
    fn the_happy_path_is_legal() {
        let path = [Received, Queued, Running, AwaitingGate, Running, PrReady];
        for pair in path.windows(2) {
            check_transition(pair[0], pair[1]).unwrap();
        }
    }

    #[test]
    fn clarification_loops_back_to_intake() {
        check_transition(Received, NeedsClarification).unwrap();
        check_transition(NeedsClarification, Received).unwrap();
        check_transition(Escalated, Received).unwrap();
    }

    #[test]
    fn final_states_have_no_way_out() {
        for status in [Rejected, Cancelled] {
            assert!(is_final(status));
            for &to in TaskStatus::ALL {
                assert!(check_transition(status, to).is_err(), "{status} -> {to}");
            }
        }
    }

    #[test]
    fn a_delivered_task_is_settled_and_only_feedback_queues_it_again() {
        assert!(is_settled(PrReady) && !is_final(PrReady));
        assert_eq!(successors(PrReady), &[Queued]);
        for &status in TaskStatus::ALL {
            assert_eq!(is_settled(status), matches!(status, Rejected | PrReady | Cancelled), "{status}");
        }
    }

    #[test]
    fn illegal_moves_are_errors_that_say_what_is_allowed() {
        let err = check_transition(Received, PrReady).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a task cannot go from `received` to `pr_ready` (from `received` it may go to: \
             needs_clarification, rejected, escalated, queued, cancelled)"
        );
        let err = check_transition(Cancelled, Running).unwrap_err();
        assert_eq!(err.to_string(), "a task cannot go from `cancelled` to `running` (`cancelled` is final)");
    }

    #[test]
    fn no_status_may_stay_where_it_is() {
        for &status in TaskStatus::ALL {
            assert!(check_transition(status, status).is_err(), "{status}");
        }
    }

    #[test]
    fn every_unsettled_status_can_be_cancelled() {
        for &status in TaskStatus::ALL {
            if !is_settled(status) {
                assert!(successors(status).contains(&Cancelled), "{status}");
            }
        }
    }
}
