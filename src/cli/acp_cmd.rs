//! `ambidex acp list|check`: the other coding agents `[acp.agents]` configures, the roles and
//! challengers they play, and whether each starts and answers the protocol's handshake; `check`
//! exits 1 when one does not.

use std::time::Duration;

use clap::Subcommand;

use super::{Context, Outcome};
use ambidex::agents::acp::{AcpCheck, check_agent};
use ambidex::config::Config;

/// How long an agent has to start and answer `initialize`.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Subcommand)]
pub enum AcpCmd {
    /// List the agents, their command lines and the roles and challengers they play
    List,
    /// Start each agent and shake hands (`initialize`); exit 1 when one does not answer
    Check {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
}

/// The roles and challengers `name` plays.
fn plays(config: &Config, name: &str) -> Vec<String> {
    let mut plays: Vec<String> = config
        .roles
        .iter()
        .filter(|(_, choice)| choice.agent.as_deref() == Some(name))
        .map(|(role, _)| format!("roles.{role}"))
        .collect();
    for index in 0..config.engine.challengers.count() as usize {
        if config.engine.challengers.get(index).and_then(|c| c.agent.as_deref()) == Some(name) {
            plays.push(format!("challenger c{}", index + 1));
        }
    }
    plays
}

pub fn run(command: AcpCmd, context: &Context) -> Result<Outcome, String> {
    let config = &context.effective.config;
    if config.acp.is_empty() {
        println!(
            "no ACP agent is configured; add one to your user config, e.g.\n\n  [acp.agents.claude]\n  command = \
             \"claude-code-acp\"\n  env = {{ ANTHROPIC_API_KEY = \"${{ANTHROPIC_API_KEY}}\" }}\n\nand give it a role: \
             `roles.implementer.agent = \"claude\"`, or a challenger: `engine.challengers = [{{ agent = \"claude\" }}]`"
        );
        return Ok(Outcome::Done);
    }
    let json = match command {
        AcpCmd::List => {
            for (name, agent) in &config.acp.agents {
                let plays = plays(config, name);
                let plays = if plays.is_empty() { "plays nothing yet".to_owned() } else { plays.join(", ") };
                println!("{name}: {} ({plays})", agent.command_line());
            }
            return Ok(Outcome::Done);
        }
        AcpCmd::Check { json } => json,
    };
    let root = ambidex::workspace::repo_root(&context.repo_dir).unwrap_or_else(|| context.repo_dir.clone());
    let runtime = tokio::runtime::Runtime::new().map_err(|err| format!("cannot start the async runtime: {err}"))?;
    let checks: Vec<AcpCheck> = runtime.block_on(async {
        let mut checks = Vec::new();
        for (name, agent) in &config.acp.agents {
            let check = match agent.expanded_env(|variable| std::env::var(variable).ok()) {
                Ok(env) => check_agent(name, agent, env, &root, CHECK_TIMEOUT).await,
                Err(err) => AcpCheck {
                    agent: name.clone(),
                    info: None,
                    protocol: None,
                    millis: 0,
                    error: Some(format!("its env {err}")),
                },
            };
            checks.push(check);
        }
        checks
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&checks).map_err(|err| err.to_string())?);
    } else {
        for check in &checks {
            match &check.error {
                None => println!(
                    "{}: ok ({}, protocol {}, {} ms)",
                    check.agent,
                    check.info.as_deref().unwrap_or("no name given"),
                    check.protocol.unwrap_or_default(),
                    check.millis
                ),
                Some(error) => println!("{}: FAILED: {error}", check.agent),
            }
        }
    }
    Ok(if checks.iter().any(|check| check.error.is_some()) { Outcome::Exit(1) } else { Outcome::Done })
}
