//! Whether tasks can run now. A model provider the agents need may be unusable: its API key
//! variable is unset, it is not configured, or it does not answer. Then tasks must not fail en
//! masse: the scheduler starts none, the driver stops before it makes a worktree and leaves the
//! task queued, and a stage whose provider stops answering puts its task back in the queue (the
//! stage starts again from its checkpoint later). Clients hear why as a [`ModelUnavailable`]:
//! in the snapshot they start from and in [`Update::Readiness`] when it changes.
//!
//! [`EngineSetup::readiness`] is the one place that decides; this module holds its rules.

use std::collections::BTreeSet;
use std::time::Duration;

use super::flow::{Ending, Flow};
use super::setup::EngineSetup;
use super::stages::fail_stage;
use super::task_run::TaskRun;
use super::{Engine, EngineError};
use crate::config::{Config, ProviderConfig, ProviderKind};
use crate::domain::{Task, check_transition};
use crate::llm::{ModelError, ModelErrorKind};
use crate::playbooks::playbook::Stage;
use crate::protocol::{Actor, EventKind, ModelUnavailable, Role, TaskStatus, Update};

/// A provider by name, and whether it can be used.
pub type ProviderReadiness = (String, Result<(), ModelUnavailable>);

/// How long tasks wait after a provider did not answer before one tries again.
pub(crate) const UNREACHABLE_PAUSE: Duration = Duration::from_secs(30);

/// An environment variable of this process, when it holds something.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.trim().is_empty())
}

/// Why the provider `name` cannot be used by a role asking for `model`, if it cannot: no script
/// (scripted), no base URL, no model, or its API key variable unset (read with `env`).
pub fn provider_problem(
    name: &str,
    provider: &ProviderConfig,
    model: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<ModelUnavailable> {
    let problem =
        |problem: String, env_var: Option<String>| ModelUnavailable { provider: name.to_owned(), problem, env_var };
    if provider.kind == ProviderKind::Scripted {
        return provider
            .script
            .trim()
            .is_empty()
            .then(|| problem(format!("no script is set (`providers.{name}.script`)"), None));
    }
    if provider.base_url.trim().is_empty() {
        return Some(problem(format!("no base URL is set (`providers.{name}.base_url`)"), None));
    }
    if model.trim().is_empty() {
        return Some(problem(format!("no model is set (`providers.{name}.model`)"), None));
    }
    let var = provider.api_key_env.trim();
    if !var.is_empty() && env(var).is_none() {
        return Some(problem(format!("{var} is not set"), Some(var.to_owned())));
    }
    None
}

/// Each provider `roles` use, in order of first use, and whether it can be used.
pub fn providers_in_use(
    config: &Config,
    roles: impl IntoIterator<Item = Role>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<ProviderReadiness> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for role in roles {
        let found = match config.provider_for(role) {
            Some((name, provider, model)) => {
                let problem = provider_problem(name, provider, &model, env);
                (name.to_owned(), problem.map_or(Ok(()), Err))
            }
            None => {
                let chosen = config.roles.get(&role).map(|r| r.provider.clone()).filter(|p| !p.is_empty());
                let name = chosen.unwrap_or_else(|| config.models.default_provider.clone());
                let problem = if name.is_empty() {
                    "no provider is chosen (`models.default_provider`)".to_owned()
                } else {
                    format!("no provider named `{name}` is configured (`providers.{name}`)")
                };
                (name.clone(), Err(ModelUnavailable { provider: name, problem, env_var: None }))
            }
        };
        if seen.insert(found.0.clone()) {
            out.push(found);
        }
    }
    out
}

/// Whether every provider `roles` use can be used; the first that cannot, and why.
pub fn check(
    config: &Config,
    roles: impl IntoIterator<Item = Role>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ModelUnavailable> {
    providers_in_use(config, roles, env).into_iter().try_for_each(|(_, ready)| ready)
}

/// A failed model call that says the provider cannot be used now (its key is missing, or no
/// connection could be made), rather than that this task went wrong.
pub fn from_error(provider: &str, error: &ModelError) -> Option<ModelUnavailable> {
    let (problem, env_var) = match &error.kind {
        ModelErrorKind::MissingKey { env_var } => (format!("{env_var} is not set"), Some(env_var.clone())),
        ModelErrorKind::Unreachable { url } => (format!("cannot connect to {url}"), None),
        _ => return None,
    };
    Some(ModelUnavailable { provider: provider.to_owned(), problem, env_var })
}

impl Engine {
    /// Whether this engine can run tasks now (an engine opened for bookkeeping runs none and
    /// has nothing to say).
    pub fn readiness(&self) -> Result<(), ModelUnavailable> {
        self.setup.as_ref().map_or(Ok(()), |setup| setup.readiness())
    }

    /// Tells every client whether tasks can run.
    pub(crate) fn announce_readiness(&self, unavailable: Option<ModelUnavailable>) {
        // No subscriber is not an error.
        let _ = self.updates.send(Update::Readiness { unavailable });
    }
}

/// How a run ends before it starts when no provider can be used: the task stays as it is
/// (queued), no worktree is made. `None`: go on.
pub(crate) fn hold(setup: &EngineSetup, task: &Task) -> Option<Ending> {
    if !matches!(task.status, TaskStatus::Queued | TaskStatus::Interrupted | TaskStatus::Running) {
        return None;
    }
    setup.readiness().err().map(Ending::Waiting)
}

/// A stage's model failed. When the provider cannot be used (no connection, no key) the task
/// goes back to the queue, its stage to start again from its checkpoint, and tasks wait a while
/// before trying again; any other failure fails the stage and the task.
pub(crate) async fn model_failed(run: &TaskRun, stage: &Stage, error: ModelError) -> Result<Flow, EngineError> {
    let provider = run.setup().config.provider_for(stage.role).map(|(name, ..)| name.to_owned()).unwrap_or_default();
    let Some(unavailable) = from_error(&provider, &error) else {
        return fail_stage(run, stage, format!("the model failed: {error}")).await;
    };
    run.setup().mark_unreachable(unavailable.clone());
    let status = run.task()?.status;
    let (problem, name) = (&unavailable.problem, &unavailable.provider);
    let mut events = Vec::new();
    if status != TaskStatus::Interrupted && check_transition(status, TaskStatus::Interrupted).is_ok() {
        let reason = format!("the model provider `{name}` cannot be used: {problem}; `{}` starts again", stage.name);
        events.push(EventKind::StatusChanged { from: status, to: TaskStatus::Interrupted, reason });
    }
    if status == TaskStatus::Interrupted || !events.is_empty() {
        let reason = format!(
            "waiting for the model provider `{name}` ({problem}): queued again, never failed; check with `{}`",
            unavailable.check_command()
        );
        events.push(EventKind::StatusChanged { from: TaskStatus::Interrupted, to: TaskStatus::Queued, reason });
    }
    run.record(events.into_iter().map(|kind| run.event(Actor::Orchestrator, kind)).collect()).await?;
    Ok(Flow::End(Ending::Waiting(unavailable)))
}

#[cfg(test)]
#[path = "readiness_tests.rs"]
mod tests;
