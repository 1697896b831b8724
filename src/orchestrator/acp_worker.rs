//! Which stages another coding agent does instead of a model (`roles.<role>.agent`, a
//! challenger's `agent`), and how it is given one: the stage's instructions with a preface that
//! maps Ambidex's tool names onto the agent's own, run through `agents::acp`.

use std::sync::Arc;

use super::EngineSetup;
use crate::agents::acp::{AcpAgent, run_acp_agent};
use crate::agents::{AgentHost, AgentOutcome, AgentSpec, run_agent};
use crate::config::{ChallengerConfig, Config};
use crate::llm::{ModelClient, ModelError};
use crate::playbooks::playbook::Stage;
use crate::protocol::Role;
use crate::tools::broker::{AgentScope, Broker};

/// The ACP agent that does `role`'s work, if one does: a challenger's own (unless it names its
/// own provider or model), else the role's.
pub(crate) fn agent_for(config: &Config, role: Role, own: Option<&ChallengerConfig>) -> Option<String> {
    if let Some(own) = own {
        if own.agent.is_some() {
            return own.agent.clone();
        }
        if own.provider.is_some() || own.model.is_some() {
            return None;
        }
    }
    config.roles.get(&role).and_then(|choice| choice.agent.clone())
}

/// The stage's instructions as one prompt for an agent that brings its own tools.
fn instructions(spec: &AgentSpec, scope: &AgentScope) -> String {
    format!(
        "You are doing the `{}` part of a task for Ambidex, in the git worktree {} (your working directory). \
         Change files only there, with your own tools; commands you run stay inside a sandbox. The instructions \
         below were written for Ambidex's own agents: where they name tools (`finish`, `edit_file`, `run`, …) use \
         yours, and instead of calling `{}`, end your turn with a short summary of what you changed and how you \
         checked it.\n\n{}\n\n{}",
        spec.role,
        scope.worktree.path.display(),
        spec.submit,
        spec.system,
        spec.opening
    )
}

/// Who does an agent stage's work.
pub(crate) enum Worker {
    /// A model, driven by the agent loop.
    Model(Arc<dyn ModelClient>),
    /// An ACP agent, by its name in `[acp.agents]`.
    Acp(String),
}

impl Worker {
    /// Who does `role`'s work (with a challenger's own choice), and the model to name in its
    /// request (empty for an ACP agent).
    pub(crate) fn choose(
        setup: &EngineSetup,
        role: Role,
        own: Option<&ChallengerConfig>,
    ) -> Result<(Worker, String), ModelError> {
        match agent_for(&setup.config, role, own) {
            Some(name) => Ok((Worker::Acp(name), String::new())),
            None => setup.client_as(role, own).map(|(client, model)| (Worker::Model(client), model)),
        }
    }

    /// Whether an ACP agent does the work (its failures are its own, not a model provider's).
    pub(crate) fn is_acp(&self) -> bool {
        matches!(self, Worker::Acp(_))
    }

    /// Does `spec`'s work in `scope`. `Err` says why an ACP agent could not be run at all.
    pub(crate) async fn work(
        &self,
        setup: &EngineSetup,
        stage: &Stage,
        spec: &AgentSpec,
        broker: &Broker,
        scope: &mut AgentScope,
        host: &dyn AgentHost,
    ) -> Result<AgentOutcome, String> {
        match self {
            Worker::Model(client) => Ok(run_agent(client.as_ref(), broker, scope, host, broker.redactor(), spec).await),
            Worker::Acp(name) => run(&setup.config, name, stage, spec, broker, scope, host).await,
        }
    }
}

/// Runs the ACP agent `name` on `spec`'s work in `scope`. `Err` says why it could not be run
/// at all (the stage fails with it).
async fn run(
    config: &Config,
    name: &str,
    stage: &Stage,
    spec: &AgentSpec,
    broker: &Broker,
    scope: &mut AgentScope,
    host: &dyn AgentHost,
) -> Result<AgentOutcome, String> {
    if stage.submit != "finish" {
        return Err(format!(
            "the ACP agent `{name}` cannot do the `{}` stage: it ends with `{}`, a structured submission only \
             Ambidex's own agents make; give `roles.{}.agent` only to roles whose stages end with `finish` \
             (the implementer, the tester, a challenger)",
            stage.name, stage.submit, stage.role
        ));
    }
    let agent = config.acp.agent(name)?;
    let env = agent
        .expanded_env(|variable| std::env::var(variable).ok())
        .map_err(|err| format!("the ACP agent `{name}`'s env {err}"))?;
    let worker = AcpAgent { name, config: agent, env };
    Ok(run_acp_agent(&worker, broker, scope, host, instructions(spec, scope)).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challengers_own_choice_wins_over_its_roles_agent() {
        let mut config = Config::default();
        config.roles.entry(Role::Challenger).or_default().agent = Some("claude".into());
        let own = |agent: Option<&str>, model: Option<&str>| ChallengerConfig {
            agent: agent.map(str::to_owned),
            model: model.map(str::to_owned),
            ..ChallengerConfig::default()
        };
        assert_eq!(agent_for(&config, Role::Challenger, None).as_deref(), Some("claude"));
        assert_eq!(agent_for(&config, Role::Challenger, Some(&own(Some("codex"), None))).as_deref(), Some("codex"));
        assert_eq!(agent_for(&config, Role::Challenger, Some(&own(None, Some("gpt-5-mini")))), None);
        assert_eq!(agent_for(&config, Role::Challenger, Some(&own(None, None))).as_deref(), Some("claude"));
        assert_eq!(agent_for(&config, Role::Implementer, None), None);
    }
}
