//! What the engine needs to run tasks: configuration, policy, playbooks, the sandbox level, the
//! approval policy of this run, and one model client per provider (shared for the engine's
//! lifetime, so a scripted model keeps its place). [`EngineSetup::readiness`] says whether those
//! providers can be used now (see `readiness`).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::config::{ChallengerConfig, Config};
use crate::llm::{ModelClient, ModelError, ModelErrorKind, client_for};
use crate::playbooks::Policy;
use crate::playbooks::playbook::Playbooks;
use crate::protocol::{ModelUnavailable, Risk, Role};
use crate::tools::sandbox::SandboxLevel;

/// Which gates this run may decide on its own (the `--approve` flag of headless runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutoApprove {
    /// Every gate waits for a human.
    #[default]
    None,
    /// Gates of low-risk tasks are approved automatically.
    Low,
    /// Every gate is approved automatically (the human chose so when starting the run).
    All,
}

impl AutoApprove {
    /// Whether a gate of a task at `risk` is approved without asking.
    pub fn covers(self, risk: Risk) -> bool {
        match self {
            AutoApprove::None => false,
            AutoApprove::Low => risk == Risk::Low,
            AutoApprove::All => true,
        }
    }

    /// The flag's word.
    pub fn as_str(self) -> &'static str {
        match self {
            AutoApprove::None => "none",
            AutoApprove::Low => "low",
            AutoApprove::All => "all",
        }
    }
}

impl FromStr for AutoApprove {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(AutoApprove::None),
            "low" => Ok(AutoApprove::Low),
            "all" => Ok(AutoApprove::All),
            other => Err(format!("unknown approval level `{other}` (expected none, low or all)")),
        }
    }
}

/// What `level` cannot hold on this machine (the ✗ of its row in `table`, as `doctor` prints
/// it), less the rows `accepted` (`sandbox.accept_gaps`), each with why. The `none` level has
/// none: it makes every command wait for approval anyway.
pub fn sandbox_gaps(
    table: &[crate::tools::sandbox::LevelRow],
    level: SandboxLevel,
    accepted: &[crate::config::ConfinementRow],
) -> Vec<String> {
    let Some(row) = table.iter().find(|row| row.level == level && level != SandboxLevel::None) else {
        return Vec::new();
    };
    row.missing()
        .into_iter()
        .filter(|(name, _)| !accepted.iter().any(|a| a.name() == *name))
        .map(|(name, notes)| if notes.is_empty() { name.to_owned() } else { format!("{name} ({})", notes.join("; ")) })
        .collect()
}

/// The engine's run-time setup.
pub struct EngineSetup {
    /// The effective configuration.
    pub config: Config,
    /// The policy file.
    pub policy: Policy,
    /// The playbooks.
    pub playbooks: Playbooks,
    /// The repository's root (where hooks run).
    pub repo_root: PathBuf,
    /// The sandbox level for commands.
    pub sandbox: SandboxLevel,
    /// What the Landlock level may also read (`sandbox.read_paths`) and never (the state dir),
    /// and how much disk a command may take (`sandbox.max_disk_mb`).
    pub sandbox_paths: crate::tools::runner::SandboxPaths,
    /// What the sandbox level cannot hold on this machine and the configuration does not accept
    /// (see [`sandbox_gaps`]): while any is left, every command waits for a human's approval.
    pub sandbox_gaps: Vec<String>,
    /// The `ambidex` executable (it applies Landlock for the runner).
    pub helper: PathBuf,
    /// Gates this run decides on its own.
    pub auto_approve: AutoApprove,
    /// Whether a gate it may not decide waits for a human (control room) or parks the task and
    /// returns (headless runs).
    pub wait_at_gates: bool,
    /// The MCP servers of `[mcp.servers]`, connected on first use and shared by every task.
    pub mcp: Arc<crate::mcp::McpHub>,
    /// Where repositories named by URL are cloned (`ambidex worker --repos DIR`); without it,
    /// such tasks are left to workers that have one.
    pub repos: Option<PathBuf>,
    clients: Mutex<HashMap<String, Arc<dyn ModelClient>>>,
    /// A provider that stopped answering, and since when (see [`super::readiness::UNREACHABLE_PAUSE`]).
    pub(super) unreachable: Mutex<Option<(Instant, ModelUnavailable)>>,
}

impl std::fmt::Debug for EngineSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineSetup")
            .field("sandbox", &self.sandbox)
            .field("auto_approve", &self.auto_approve)
            .field("wait_at_gates", &self.wait_at_gates)
            .finish_non_exhaustive()
    }
}

impl EngineSetup {
    /// A setup for work in the repository at `repo_root` (its `.ambidex/policy.toml` and
    /// `.ambidex/playbooks/` apply when present).
    pub fn new(config: Config, repo_root: &Path, sandbox: SandboxLevel, helper: PathBuf) -> Result<Self, String> {
        let policy = Policy::for_repo(repo_root).map_err(|err| err.to_string())?;
        let playbooks = Playbooks::with_dir(&repo_root.join(".ambidex/playbooks")).map_err(|err| err.to_string())?;
        let mcp = Arc::new(crate::mcp::McpHub::new(&config.mcp, repo_root).map_err(|err| err.to_string())?);
        let sandbox_paths = crate::tools::runner::SandboxPaths {
            extra_read: config.sandbox.read_paths.iter().map(PathBuf::from).collect(),
            state_dir: Some(config.state_dir()),
            max_disk_bytes: config.sandbox.max_disk_mb.map(|mb| mb.saturating_mul(1 << 20)),
            ..Default::default()
        };
        Ok(EngineSetup {
            config,
            policy,
            playbooks,
            sandbox,
            repo_root: repo_root.to_owned(),
            sandbox_paths,
            sandbox_gaps: Vec::new(),
            helper,
            auto_approve: AutoApprove::None,
            wait_at_gates: true,
            mcp,
            repos: None,
            clients: Mutex::new(HashMap::new()),
            unreachable: Mutex::new(None),
        })
    }

    /// The roles whose stages call a model: every agent stage of the Right Hand's playbooks.
    pub fn model_roles(&self) -> BTreeSet<Role> {
        self.playbooks.all().flat_map(|p| &p.stages).filter(|s| !s.submit.is_empty()).map(|s| s.role).collect()
    }

    /// Whether tasks can run now: every provider the Right Hand's roles use is configured, has
    /// its API key variable set when it needs one, and has not just failed to answer. This is the
    /// one place that decides it; the scheduler, the driver, `task add` and `doctor` ask here.
    pub fn readiness(&self) -> Result<(), ModelUnavailable> {
        super::readiness::check(&self.config, self.model_roles(), &super::readiness::process_env)?;
        let mut unreachable = self.unreachable.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match unreachable.as_ref() {
            Some((since, unavailable)) if since.elapsed() < super::readiness::UNREACHABLE_PAUSE => {
                Err(unavailable.clone())
            }
            Some(_) => {
                *unreachable = None;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Each provider the Right Hand's roles use, and whether it can be used (for `doctor`).
    pub fn provider_readiness(&self) -> Vec<super::readiness::ProviderReadiness> {
        super::readiness::providers_in_use(&self.config, self.model_roles(), &super::readiness::process_env)
    }

    /// Remembers that a provider did not answer: tasks wait for a while before trying again.
    pub(crate) fn mark_unreachable(&self, unavailable: ModelUnavailable) {
        let mut unreachable = self.unreachable.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *unreachable = Some((Instant::now(), unavailable));
    }

    /// The model client and model name a role uses; clients are built once per provider.
    pub fn client_for(&self, role: Role) -> Result<(Arc<dyn ModelClient>, String), ModelError> {
        self.client_as(role, None)
    }

    /// The client and model for `role`, with a challenger's own provider and model
    /// (`engine.challengers`) taking precedence.
    pub fn client_as(
        &self,
        role: Role,
        own: Option<&ChallengerConfig>,
    ) -> Result<(Arc<dyn ModelClient>, String), ModelError> {
        let Some((name, provider, model)) = self.config.provider_as(role, own) else {
            return Err(ModelError::new(
                ModelErrorKind::Config,
                format!("no provider for role `{role}`: set `models.default_provider` or `roles.{role}.provider`"),
            ));
        };
        let mut clients = self.clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = clients.get(name) {
            return Ok((client.clone(), model));
        }
        let client = client_for(name, provider, provider.model.clone())?;
        clients.insert(name.to_owned(), client.clone());
        Ok((client, model))
    }
}
