//! Agent streams: what each agent said and did, as the Right and Left Hand panes show it.
//!
//! Streamed text arrives in deltas and is committed by lines: the unfinished line stays apart
//! until its newline (or the agent's whole message) arrives, so a redraw never reflows committed
//! text. Tool calls keep their output folded to one line until unfolded.

use crate::protocol::{Actor, ToolCallRecord, Track};

/// The most entries kept per agent; older ones are dropped (the log keeps everything).
const MAX_ENTRIES: usize = 4000;

/// One thing in an agent's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A committed line of text.
    Text(String),
    /// A tool call that ended.
    Tool {
        /// The tool.
        name: String,
        /// Its main argument (command or path), if any.
        detail: String,
        /// Whether it did what was asked.
        ok: bool,
        /// For commands: the exit code.
        exit_code: Option<i32>,
        /// Its output, by lines.
        output: Vec<String>,
    },
    /// A model call was retried.
    Retry {
        /// The attempt that failed.
        attempt: u32,
        /// Why.
        reason: String,
        /// The wait before the next attempt.
        delay_ms: u64,
    },
    /// A stage began, ended, or something notable happened (a line in the stage style).
    Status(String),
}

/// What one agent (or one candidate) streamed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AgentStream {
    /// The heading: the role, and the candidate with its strategy on the Left Hand.
    pub label: String,
    /// The candidate's label (Left Hand), for grouping.
    pub candidate: Option<String>,
    /// The candidate's strategy, once known.
    pub strategy: Option<String>,
    /// Committed entries, oldest first.
    pub entries: Vec<Entry>,
    /// Text streamed since the last newline.
    pub partial: String,
    /// Whether deltas arrived since the last whole message (so the message is not shown twice).
    pub streamed: bool,
    /// A short state: `running`, `finished`, `failed`, …
    pub state: String,
}

impl AgentStream {
    /// An empty stream under `label`.
    pub fn new(label: impl Into<String>, candidate: Option<String>) -> Self {
        Self { label: label.into(), candidate, ..Self::default() }
    }

    fn push(&mut self, entry: Entry) {
        self.entries.push(entry);
        if self.entries.len() > MAX_ENTRIES {
            let excess = self.entries.len() - MAX_ENTRIES;
            self.entries.drain(..excess);
        }
    }

    /// Appends streamed text, committing every finished line.
    pub fn delta(&mut self, text: &str) {
        self.streamed = true;
        let mut rest = text;
        while let Some(at) = rest.find('\n') {
            self.partial.push_str(&rest[..at]);
            let line = std::mem::take(&mut self.partial);
            self.push(Entry::Text(line));
            rest = &rest[at + 1..];
        }
        self.partial.push_str(rest);
    }

    /// A whole message: shown unless its deltas already were, in which case only the unfinished
    /// line is committed.
    pub fn message(&mut self, text: &str) {
        if self.streamed {
            if !self.partial.is_empty() {
                let line = std::mem::take(&mut self.partial);
                self.push(Entry::Text(line));
            }
        } else {
            for line in text.lines() {
                self.push(Entry::Text(line.to_owned()));
            }
        }
        self.streamed = false;
    }

    /// A tool call that ended; an unfinished streamed line is committed first.
    pub fn tool(&mut self, record: &ToolCallRecord) {
        self.commit_partial();
        let detail = ["command", "path", "pattern", "query"]
            .iter()
            .find_map(|key| record.arguments.get(*key).and_then(|v| v.as_str()))
            .unwrap_or_default();
        let detail: String = detail.lines().next().unwrap_or_default().chars().take(120).collect();
        let output = record.output.lines().map(str::to_owned).collect();
        self.push(Entry::Tool {
            name: record.tool.clone(),
            detail,
            ok: record.ok,
            exit_code: record.exit_code,
            output,
        });
    }

    /// A retry of a model call.
    pub fn retry(&mut self, attempt: u32, reason: &str, delay_ms: u64) {
        self.commit_partial();
        self.push(Entry::Retry { attempt, reason: reason.to_owned(), delay_ms });
    }

    /// A status line.
    pub fn status(&mut self, text: impl Into<String>) {
        self.commit_partial();
        self.push(Entry::Status(text.into()));
    }

    fn commit_partial(&mut self) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.push(Entry::Text(line));
        }
        self.streamed = false;
    }

    /// How many display lines the stream takes (tool outputs folded or not).
    pub fn line_count(&self, unfolded: bool) -> usize {
        let entries: usize = self.entries.iter().map(|e| entry_lines(e, unfolded)).sum();
        entries + usize::from(!self.partial.is_empty())
    }
}

/// Display lines of one entry.
pub fn entry_lines(entry: &Entry, unfolded: bool) -> usize {
    match entry {
        Entry::Tool { output, .. } if unfolded => 1 + output.len(),
        Entry::Tool { output, .. } => 1 + usize::from(!output.is_empty()),
        _ => 1,
    }
}

/// Which stream an actor writes to: `None` for people and the orchestrator.
pub fn stream_key(actor: &Actor) -> Option<(Track, String)> {
    match actor {
        Actor::Agent(agent) => {
            // The Left Hand groups by candidate (the analyst of c1 writes under c1); the rest by role.
            let key = match (&agent.candidate, agent.track) {
                (Some(candidate), Track::Left) => candidate.clone(),
                _ => agent.role.to_string(),
            };
            Some((agent.track, key))
        }
        _ => None,
    }
}

/// The set of streams of one hand, in the order the agents first appeared.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Streams {
    /// The streams.
    pub agents: Vec<AgentStream>,
}

impl Streams {
    /// The latest stream under `key`, created when there is none.
    pub fn get(&mut self, key: &str, candidate: Option<String>) -> &mut AgentStream {
        let at = match self.agents.iter().rposition(|a| a.label == key) {
            Some(at) => at,
            None => {
                self.agents.push(AgentStream::new(key, candidate));
                self.agents.len() - 1
            }
        };
        &mut self.agents[at]
    }

    /// The latest stream under `key`, if any.
    pub fn find(&self, key: &str) -> Option<&AgentStream> {
        self.agents.iter().rev().find(|a| a.label == key)
    }

    /// Starts a new stream under `key` (a stage that runs again gets a section of its own).
    pub fn start(&mut self, key: &str, candidate: Option<String>) -> &mut AgentStream {
        self.agents.push(AgentStream::new(key, candidate));
        if self.agents.len() > 64 {
            self.agents.remove(0);
        }
        let last = self.agents.len() - 1;
        &mut self.agents[last]
    }

    /// Total display lines.
    pub fn line_count(&self, unfolded: bool) -> usize {
        self.agents.iter().map(|a| a.line_count(unfolded) + 1).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{AgentIdentity, Role};

    #[test]
    fn deltas_are_committed_by_lines_and_the_message_is_not_shown_twice() {
        let mut stream = AgentStream::new("planner", None);
        stream.delta("Reading the ");
        stream.delta("code.\nThen a");
        assert_eq!(stream.entries, vec![Entry::Text("Reading the code.".into())]);
        assert_eq!(stream.partial, "Then a");
        stream.message("Reading the code.\nThen a plan");
        assert_eq!(stream.entries.len(), 2);
        assert_eq!(stream.entries[1], Entry::Text("Then a".into()), "the streamed text stands");
        assert!(stream.partial.is_empty());
        stream.message("Loaded from history\nsecond line");
        assert_eq!(stream.entries.len(), 4, "a message without deltas is shown whole");
    }

    #[test]
    fn challengers_group_by_candidate_and_others_by_role() {
        let agent = |role, track, candidate: Option<&str>| {
            Actor::Agent(AgentIdentity { role, track, candidate: candidate.map(str::to_owned) })
        };
        assert_eq!(stream_key(&agent(Role::Challenger, Track::Left, Some("c2"))), Some((Track::Left, "c2".into())));
        assert_eq!(stream_key(&agent(Role::FailureAnalyst, Track::Left, Some("c1"))), Some((Track::Left, "c1".into())));
        assert_eq!(stream_key(&agent(Role::Synthesis, Track::Left, None)), Some((Track::Left, "synthesis".into())));
        assert_eq!(stream_key(&agent(Role::Planner, Track::Right, None)), Some((Track::Right, "planner".into())));
        assert_eq!(stream_key(&Actor::Orchestrator), None);
    }
}
