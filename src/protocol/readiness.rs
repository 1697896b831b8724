//! Why no task can run now. When the model provider the agents need cannot be used (its API key
//! variable is unset, or it does not answer), tasks stay queued instead of failing en masse, and
//! every client says so in the same words: the CLI when a task is added or run, the control room
//! in a banner. The engine sends it in the [`Snapshot`](super::Snapshot) a client starts from and
//! in an [`Update::Readiness`](super::Update::Readiness) whenever it changes.

use serde::{Deserialize, Serialize};

/// The model provider the agents need cannot be used; tasks wait for it, queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelUnavailable {
    /// The provider, as configured (`openai`).
    pub provider: String,
    /// What is wrong, in a few words: `OPENAI_API_KEY is not set`, `cannot connect to …`.
    pub problem: String,
    /// The environment variable to set, when a missing key is the problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_var: Option<String>,
}

impl ModelUnavailable {
    /// The command that checks the provider: `ambidex models check --provider openai`.
    pub fn check_command(&self) -> String {
        format!("ambidex models check --provider {}", self.provider)
    }

    /// What to do: set the variable (when that is the problem), then check.
    pub fn next_step(&self) -> String {
        let check = format!("check with `{}` or `ambidex doctor`", self.check_command());
        match &self.env_var {
            Some(var) => format!(
                "export {var} with your API key (or choose another provider with \
                 `models.default_provider`), then {check}"
            ),
            None => format!("{check}; queued tasks run once it answers"),
        }
    }

    /// One paragraph for people: what is wrong, that tasks wait, and what to do.
    pub fn message(&self) -> String {
        format!(
            "cannot run yet: {} (provider `{}`); tasks stay queued, nothing is marked failed. Next: {}",
            self.problem,
            self.provider,
            self.next_step()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_variable_and_the_commands_that_check_it() {
        let missing = ModelUnavailable {
            provider: "openai".into(),
            problem: "OPENAI_API_KEY is not set".into(),
            env_var: Some("OPENAI_API_KEY".into()),
        };
        assert_eq!(
            missing.message(),
            "cannot run yet: OPENAI_API_KEY is not set (provider `openai`); tasks stay queued, nothing is marked \
             failed. Next: export OPENAI_API_KEY with your API key (or choose another provider with \
             `models.default_provider`), then check with `ambidex models check --provider openai` or `ambidex doctor`"
        );
        let down = ModelUnavailable {
            provider: "local".into(),
            problem: "cannot connect to http://127.0.0.1:9/v1".into(),
            env_var: None,
        };
        assert!(down.next_step().ends_with("`ambidex doctor`; queued tasks run once it answers"));
        let json = serde_json::to_string(&down).unwrap_or_default();
        assert!(!json.contains("env_var"), "{json}");
        assert_eq!(serde_json::from_str::<ModelUnavailable>(&json).ok(), Some(down));
    }
}
