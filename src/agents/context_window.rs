//! Keeping an agent's conversation inside its model's context window. Tool results are what
//! grows a conversation (a file read, a test log), and the old ones matter least: when the
//! estimate nears the window, the oldest tool results are elided, each replaced by a one-line
//! note saying how to read it again (the full output stays in the audit log). The system prompt,
//! the opening message with the task and the latest turns are never touched. When the server
//! says the conversation is too long anyway, everything elidable goes and the turn is tried once
//! more.

use crate::llm::Message;

/// The context window assumed when none is configured.
pub const DEFAULT_WINDOW: u32 = 128_000;
/// Characters per token: cautious for code (tokenizers average 3.5–4 on English and code).
const CHARS_PER_TOKEN: usize = 3;
/// The latest messages that are never elided.
const KEEP_LATEST: usize = 6;
/// Tool results shorter than this are kept: their note would not be much shorter.
const WORTH_ELIDING: usize = 400;

/// The tokens a conversation is estimated to take.
pub fn estimate(system: &str, messages: &[Message]) -> usize {
    let chars: usize = system.len()
        + messages
            .iter()
            .map(|message| match message {
                Message::User { content } => content.len(),
                Message::Assistant { content, tool_calls, .. } => {
                    content.len()
                        + tool_calls.iter().map(|c| c.name.len() + c.arguments.to_string().len()).sum::<usize>()
                }
                Message::Tool { content, .. } => content.len(),
            })
            .sum::<usize>();
    chars / CHARS_PER_TOKEN
}

/// The note an elided result becomes.
fn note(chars: usize) -> String {
    format!(
        "[elided to keep the conversation inside the model's context window: this output ({chars} characters) is \
         in the audit log; call the tool again if you need it]"
    )
}

fn is_elided(content: &str) -> bool {
    content.starts_with("[elided to keep the conversation")
}

/// Elides the oldest tool results (never the first message or the latest [`KEEP_LATEST`]) until
/// the conversation's estimate, with `fixed` tokens for the system prompt and tools, fits
/// `budget`, or everything elidable is gone when `budget` is 0. Returns how many it elided.
pub fn elide(messages: &mut [Message], fixed: usize, budget: usize) -> usize {
    let mut total = fixed + estimate("", messages);
    if budget > 0 && total <= budget {
        return 0;
    }
    let end = messages.len().saturating_sub(KEEP_LATEST);
    let mut elided = 0;
    for message in messages.iter_mut().take(end).skip(1) {
        if budget > 0 && total <= budget {
            break;
        }
        if let Message::Tool { content, .. } = message
            && content.len() >= WORTH_ELIDING
            && !is_elided(content)
        {
            let replacement = note(content.len());
            total = total.saturating_sub((content.len() - replacement.len()) / CHARS_PER_TOKEN);
            *content = replacement;
            elided += 1;
        }
    }
    elided
}

/// The tokens a conversation may take on a model with `window` tokens that may reply with up to
/// `reply` tokens: the rest, less a tenth for the estimate's error.
pub fn budget(window: Option<u32>, reply: Option<u32>) -> usize {
    let window = window.unwrap_or(DEFAULT_WINDOW) as usize;
    let reply = reply.unwrap_or(8192) as usize;
    window.saturating_sub(reply).saturating_mul(9) / 10
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation(results: usize, each: usize) -> Vec<Message> {
        let mut messages = vec![Message::user("The task: fix page_count.")];
        for n in 0..results {
            messages.push(Message::assistant(""));
            messages.push(Message::Tool { call_id: format!("c{n}"), content: "x".repeat(each), is_error: false });
        }
        messages
    }

    #[test]
    fn the_oldest_results_go_first_and_the_task_and_latest_turns_stay() {
        let mut messages = conversation(10, 3000);
        // 10 results of 1000 tokens each; room for about 4.
        let elided = elide(&mut messages, 0, 4500);
        assert_eq!(elided, 6, "{:?}", estimate("", &messages));
        assert!(estimate("", &messages) <= 4500);
        let Message::User { content } = &messages[0] else { panic!() };
        assert!(content.contains("The task"));
        let kept = |m: &Message| matches!(m, Message::Tool { content, .. } if !is_elided(content));
        assert!(
            messages[messages.len() - KEEP_LATEST..].iter().filter(|m| matches!(m, Message::Tool { .. })).all(kept)
        );
        let Message::Tool { content, .. } = &messages[2] else { panic!() };
        assert!(content.contains("call the tool again") && content.contains("3000 characters"));
    }

    #[test]
    fn a_conversation_that_fits_is_left_alone_and_zero_budget_elides_all_it_may() {
        let mut messages = conversation(3, 3000);
        assert_eq!(elide(&mut messages, 0, 100_000), 0);
        let mut messages = conversation(10, 3000);
        assert_eq!(elide(&mut messages, 0, 0), 7, "every result but the latest turns");
        assert_eq!(elide(&mut messages, 0, 0), 0, "an elided result is not elided twice");
    }

    #[test]
    fn the_budget_leaves_room_for_the_reply() {
        assert_eq!(budget(Some(100_000), Some(10_000)), 81_000);
        assert_eq!(budget(None, None), (128_000 - 8192) * 9 / 10);
    }
}
