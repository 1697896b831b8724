//! The command policy: prefix rules that allow, prompt for or forbid what agents run.
//!
//! It is the `[commands]` section of the policy file, so it lives with the policy: the tool broker
//! enforces the verdicts, the policy decides them (and checks each rule's examples when loaded).
//!
//! Every command a line will run (found by `playbooks/shell.rs` with the bash grammar, wrappers,
//! `find -exec`, `sh -c` bodies and `eval` opened by `playbooks/wrappers.rs`) is judged on its
//! own; the strictest decision over all of them wins, and a command no rule matches gets the
//! default. What cannot be judged from the text (inline interpreter code, a program name computed
//! at run time, a line that does not parse) is never allowed without a human.
//!
//! Build tools that run the repository's own code (`make`, `npm run`, `cargo test`) are allowed by
//! the shipped rules: the policy cannot see what a Makefile will do, so the sandbox, not the
//! policy, is what contains them (see the README's security section). Rules carry `match` /
//! `not_match` examples that are checked when the policy is loaded, so a rule that does not do
//! what its author meant fails loudly.

use serde::{Deserialize, Serialize};

use super::shell::{Words, split};

/// What the policy says about a command, ordered from least to most strict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Run it.
    Allow,
    /// Ask a human first (a gate).
    Prompt,
    /// Refuse it.
    Forbid,
}

/// One prefix rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandRule {
    /// The words a command must start with, e.g. `["git", "push"]`.
    pub prefix: Vec<String>,
    /// What to do with a match.
    pub decision: Verdict,
    /// Why: shown to the agent on `forbid` and to the human on `prompt`.
    pub justification: String,
    /// Command lines this rule must match (checked at load).
    #[serde(default, rename = "match")]
    pub must_match: Vec<String>,
    /// Command lines this rule must not match (checked at load).
    #[serde(default)]
    pub not_match: Vec<String>,
}

/// The `[commands]` section of `playbooks/policy.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandPolicy {
    /// The decision for commands no rule matches.
    #[serde(default = "default_verdict")]
    pub default: Verdict,
    /// The rules.
    #[serde(default, rename = "rule")]
    pub rules: Vec<CommandRule>,
}

fn default_verdict() -> Verdict {
    Verdict::Prompt
}

/// The policy's answer for one command line, with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Judgement {
    /// The strictest verdict over every part.
    pub verdict: Verdict,
    /// One reason per part (and one for anything opaque), naming the rule that decided it.
    pub reasons: Vec<String>,
}

fn matches_prefix(prefix: &[String], words: &Words) -> bool {
    !prefix.is_empty()
        && words.len() >= prefix.len()
        && prefix.iter().zip(words).enumerate().all(|(i, (want, got))| {
            // The program may be named by path: `/usr/bin/git` matches `git`.
            if i == 0 { got == want || got.rsplit('/').next() == Some(want.as_str()) } else { got == want }
        })
}

impl CommandRule {
    fn matches_line(&self, line: &str) -> bool {
        split(line).commands.iter().any(|command| matches_prefix(&self.prefix, &command.words))
    }
}

impl CommandPolicy {
    /// Checks every rule's examples; returns one message per failing example.
    pub fn check_examples(&self) -> Vec<String> {
        let mut failures = Vec::new();
        for rule in &self.rules {
            let name = rule.prefix.join(" ");
            for example in &rule.must_match {
                if !rule.matches_line(example) {
                    failures.push(format!("rule `{name}` should match `{example}` but does not"));
                }
            }
            for example in &rule.not_match {
                if rule.matches_line(example) {
                    failures.push(format!("rule `{name}` should not match `{example}` but does"));
                }
            }
        }
        failures
    }

    /// Judges a command line.
    pub fn judge(&self, line: &str) -> Judgement {
        let parts = split(line);
        let mut verdict = Verdict::Allow;
        let mut reasons = Vec::new();
        for command in &parts.commands {
            let shown = command.shown();
            let strictest = self
                .rules
                .iter()
                .filter(|rule| matches_prefix(&rule.prefix, &command.words))
                .max_by_key(|rule| (rule.decision, rule.prefix.len()));
            match strictest {
                Some(rule) => {
                    verdict = verdict.max(rule.decision);
                    reasons.push(format!(
                        "`{shown}`: {} by rule `{}`: {}",
                        verdict_word(rule.decision),
                        rule.prefix.join(" "),
                        rule.justification
                    ));
                }
                None => {
                    verdict = verdict.max(self.default);
                    reasons.push(format!("`{shown}`: no rule matches; the default is {}", verdict_word(self.default)));
                }
            }
        }
        for finding in &parts.findings {
            verdict = verdict.max(finding.verdict);
            reasons.push(format!("{} ({})", finding.reason, verdict_word(finding.verdict)));
        }
        if reasons.is_empty() {
            return Judgement {
                verdict: Verdict::Forbid,
                reasons: vec![format!("`{}` runs no command: give the command line to run", line.trim())],
            };
        }
        Judgement { verdict, reasons }
    }
}

fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Allow => "allowed",
        Verdict::Prompt => "needs approval",
        Verdict::Forbid => "forbidden",
    }
}

#[cfg(test)]
#[path = "commands_tests.rs"]
mod tests;
