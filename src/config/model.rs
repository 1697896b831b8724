//! The configuration types and their built-in values.
//!
//! Every struct takes `#[serde(default)]`, so each layer may set only the keys it cares about, and
//! `deny_unknown_fields`, so a typo is an error rather than a silently ignored key.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::protocol::Role;

/// The whole effective configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the store, worktrees and logs live; empty means `$XDG_DATA_HOME/ambidex`.
    pub state_dir: String,
    /// Which store holds the tasks (`[store]`); from the user's config, flags and environment
    /// only.
    pub store: StoreConfig,
    /// The engine's scheduling limits.
    pub engine: EngineConfig,
    /// Identity for commits made in worktrees.
    pub git: GitConfig,
    /// Which provider and model agents use unless a role says otherwise.
    pub models: ModelsConfig,
    /// Model providers by name; presets are built in and can be changed key by key.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Per-role choice of provider and model.
    pub roles: BTreeMap<Role, RoleConfig>,
    /// Code hosts.
    pub forges: ForgesConfig,
    /// The loopback HTTP API.
    pub api: ApiConfig,
    /// The control room.
    pub tui: TuiConfig,
    /// How agents' commands are isolated.
    pub sandbox: SandboxConfig,
    /// The dependency fetch each worktree gets before any agent or validation runs.
    pub setup: SetupConfig,
    /// Commands run at lifecycle events (`[[hooks]]`); read from the user's config and flags
    /// only, never from a repository's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookConfig>,
    /// The MCP servers agents may use (`[mcp.servers.NAME]`); from the user's config and flags
    /// only, like hooks.
    #[serde(skip_serializing_if = "super::mcp::McpConfig::is_empty")]
    pub mcp: super::mcp::McpConfig,
    /// Other coding agents that can work as the implementer or a challenger
    /// (`[acp.agents.NAME]`); from the user's config and flags only, like MCP servers.
    #[serde(skip_serializing_if = "super::acp::AcpConfig::is_empty")]
    pub acp: super::acp::AcpConfig,
}

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookEvent {
    /// A task was added.
    TaskCreated,
    /// A stage started.
    StageStarted,
    /// A stage finished (successfully or not).
    StageFinished,
    /// A gate opened and waits for a decision.
    GateOpened,
    /// A gate was decided.
    GateDecided,
    /// A pull or merge request (or the local PR document) was created.
    PrCreated,
    /// Before an agent's tool call: a non-zero exit blocks the call with the hook's output.
    PreToolCall,
    /// After an agent's tool call.
    PostToolCall,
}

/// One `[[hooks]]` table: a command run with a JSON description of the event on its stdin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookConfig {
    /// The event.
    pub event: HookEvent,
    /// The shell command (run by `/bin/sh -c` in the repository's root, or the worktree for
    /// tool calls).
    pub command: String,
    /// For tool-call hooks: the tools it applies to (`run`, `write_file`, …); empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// Seconds it may take before it is killed (a killed `pre_tool_call` hook blocks the call).
    #[serde(default = "default_hook_timeout")]
    pub timeout_secs: u64,
}

fn default_hook_timeout() -> u64 {
    10
}

/// Which isolation `run` commands get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SandboxChoice {
    /// The best level this machine offers: bubblewrap, else Landlock, else none.
    #[default]
    Auto,
    /// bubblewrap namespaces; refused to start when bubblewrap cannot run here.
    Bubblewrap,
    /// Landlock, seccomp and a supervisor; refused to start when Landlock is missing.
    Landlock,
    /// No isolation: every command waits for a human's approval.
    None,
}

/// How agents' commands are isolated (`[sandbox]`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// `auto`, `bubblewrap`, `landlock` or `none`.
    pub level: SandboxChoice,
    /// More absolute paths commands may read at the Landlock level (a toolchain in an unusual
    /// place); a path that is or contains a home secret or the state directory is ignored.
    pub read_paths: Vec<String>,
    /// Megabytes a command may take from the disk before it is killed (a disk bomb); unset:
    /// 16384. A command is also killed when it takes a file system into its last 5 %.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_disk_mb: Option<u64>,
    /// Rows of `ambidex doctor`'s confinement table accepted as missing on this machine. A level
    /// that cannot hold a row makes every command wait for a human's approval, unless the row is
    /// accepted here.
    pub accept_gaps: Vec<ConfinementRow>,
}

/// The setup step (`[setup]`): the commands that fetch a worktree's dependencies before any
/// agent or validation runs, under the sandbox, with network only once a human allowed it for
/// the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SetupConfig {
    /// The commands, in order; unset: discovered from the repository's files (`cargo fetch`,
    /// `go mod download`, `uv sync --frozen`, `npm ci`, …); empty: no setup step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commands: Option<Vec<String>>,
    /// `ask` (the first setup that needs the network waits at a gate; the approval holds for the
    /// repository while its setup commands stay the same) or `never` (setup always runs offline).
    pub network: SetupNetwork,
    /// Seconds each command may run.
    pub timeout_secs: u64,
}

impl Default for SetupConfig {
    fn default() -> Self {
        SetupConfig { commands: None, network: SetupNetwork::Ask, timeout_secs: 900 }
    }
}

/// Whether a setup step may ask for the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetupNetwork {
    /// A setup that fails for want of the network asks a human once per repository.
    #[default]
    Ask,
    /// Setup never gets the network: fetch on the host, or vendor the dependencies.
    Never,
}

/// One row of what a sandbox level confines (a column of `ambidex doctor`'s table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfinementRow {
    /// Reads stay in the worktree, toolchains and system paths.
    Reads,
    /// Writes stay in the worktree and a private temp dir.
    Writes,
    /// No network of any family.
    Network,
    /// No signals, ptrace or /proc access to processes outside.
    Signals,
    /// Every descendant dies with the command; their number is limited.
    Processes,
}

impl ConfinementRow {
    /// Its name in `doctor`'s table and in `sandbox.accept_gaps`.
    pub fn name(self) -> &'static str {
        match self {
            ConfinementRow::Reads => "reads",
            ConfinementRow::Writes => "writes",
            ConfinementRow::Network => "network",
            ConfinementRow::Signals => "signals",
            ConfinementRow::Processes => "processes",
        }
    }
}

/// The engine's scheduling limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// Tasks worked on at once.
    pub max_concurrent_tasks: u32,
    /// Left Hand challengers per explored task: how many (`challengers = 2`), or each one
    /// with its own strategy, provider and model (`challengers = [{ strategy = "test_first",
    /// provider = "anthropic" }, { model = "gpt-5-mini" }]`).
    pub challengers: Challengers,
}

/// The Left Hand's challengers (`engine.challengers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Challengers {
    /// This many, on the challenger role's model, with the playbook's strategies.
    Count(u32),
    /// One entry per challenger.
    Each(Vec<ChallengerConfig>),
}

impl Challengers {
    /// How many challengers an explored task gets.
    pub fn count(&self) -> u32 {
        match self {
            Challengers::Count(count) => *count,
            Challengers::Each(each) => u32::try_from(each.len()).unwrap_or(u32::MAX),
        }
    }

    /// What is configured for the challenger at `index` (0-based), if anything is.
    pub fn get(&self, index: usize) -> Option<&ChallengerConfig> {
        match self {
            Challengers::Count(_) => None,
            Challengers::Each(each) => each.get(index),
        }
    }
}

/// One challenger: what it does differently from the others.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChallengerConfig {
    /// Its strategy (a name from the exploration playbook); unset: the playbook picks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// Its provider (a name from `[providers]`); unset: the challenger role's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Its model; unset: its provider's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// An ACP agent (`[acp.agents.NAME]`) that plays it instead of a model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

/// Identity for commits made in worktrees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GitConfig {
    /// Commit author name.
    pub author_name: String,
    /// Commit author email.
    pub author_email: String,
}

/// Default model selection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelsConfig {
    /// The provider used by roles that name none.
    pub default_provider: String,
}

/// The wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenAI chat completions (OpenAI, Ollama, vLLM, llama.cpp, LM Studio, OpenRouter, …).
    #[default]
    Openai,
    /// Anthropic messages.
    Anthropic,
    /// OpenAI responses (`/responses`: OpenAI's current models, Codex, and servers that copy it).
    OpenaiResponses,
    /// A deterministic script file, for tests and the demo.
    Scripted,
}

/// One model provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderConfig {
    /// The wire format.
    pub kind: ProviderKind,
    /// The API root, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    /// The name of the environment variable that holds the key (never the key itself).
    pub api_key_env: String,
    /// The model used unless a role names another.
    pub model: String,
    /// Extra HTTP headers.
    pub headers: BTreeMap<String, String>,
    /// Seconds to wait for a connection.
    pub connect_timeout_secs: u64,
    /// Seconds a stream may stay silent before it is retried.
    pub idle_timeout_secs: u64,
    /// Retries on 429, 5xx and transport errors.
    pub max_retries: u32,
    /// US dollars per million input tokens.
    pub input_price_per_mtok: f64,
    /// US dollars per million input tokens read from the provider's prompt cache; unset: a tenth
    /// of the input price for Anthropic, the input price for others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_input_price_per_mtok: Option<f64>,
    /// US dollars per million output tokens.
    pub output_price_per_mtok: f64,
    /// The longest reply to ask for, in tokens; unset: not sent (Anthropic, which requires it,
    /// gets 8192). OpenAI's own API gets it as `max_completion_tokens`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// Which field carries `max_output_tokens` to an OpenAI-compatible server: `max_tokens` or
    /// `max_completion_tokens`; unset: `max_completion_tokens` for api.openai.com, else `max_tokens`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens_field: Option<String>,
    /// How hard a reasoning model thinks: `none`, `minimal`, `low`, `medium`, `high` or `xhigh` (OpenAI's
    /// `reasoning_effort`, the Responses API's `reasoning.effort`; Anthropic: extended thinking
    /// with a budget of 1k, 2k, 8k, 24k or 32k tokens, or that many tokens when it is a number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// Sampling temperature; unset: not sent (the server's default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// The model's context window in tokens; unset: 128000. Older tool results are elided from
    /// an agent's conversation as it nears this (and when the server says it is too long).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u32>,
    /// More fields for every request body, merged last (a server's own options).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra_body: BTreeMap<String, toml::Value>,
    /// Anthropic: mark the system prompt and tool definitions for prompt caching.
    pub prompt_caching: bool,
    /// For `scripted`: the script file.
    pub script: String,
}

/// One role's model choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct RoleConfig {
    /// The provider; empty means `models.default_provider`.
    pub provider: String,
    /// The model; empty means the provider's.
    pub model: String,
    /// The longest reply for this role; unset: the provider's `max_output_tokens`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// How hard this role's model thinks; unset: the provider's `reasoning_effort`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// This role's temperature; unset: the provider's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// An ACP agent (`[acp.agents.NAME]`) that does this role's work instead of a model: for
    /// roles whose stages end with `finish` (the implementer, the tester).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

/// How a role's requests are tuned: the provider's settings with the role's on top.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tuning {
    /// The longest reply to ask for; `None` sends none.
    pub max_output_tokens: Option<u32>,
    /// How hard a reasoning model thinks.
    pub reasoning_effort: Option<String>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// The model's context window in tokens, when configured.
    pub context_window: Option<u32>,
}

/// Code hosts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForgesConfig {
    /// Where PRs go: `local`, `github` or `gitlab`.
    pub delivery: String,
    /// GitHub or GitHub Enterprise.
    pub github: ForgeConfig,
    /// GitLab or a self-hosted GitLab.
    pub gitlab: ForgeConfig,
    /// The git remote task branches are pushed to.
    pub remote: String,
    /// Retries of a forge request after a rate limit, a 5xx or a transport error.
    pub max_retries: u32,
    /// The longest wait for a rate limit to reset, in seconds; a longer one fails with the time
    /// to try again.
    pub max_wait_secs: u64,
    /// How many rounds of feedback on a delivered PR (reviews, failed CI) `serve --watch` sends a
    /// task back for; 0 acts on none.
    pub max_reworks: u32,
    /// Whether a failed CI check on a delivered PR sends its task back, as a review does.
    pub rework_on_ci_failure: bool,
}

/// One code host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ForgeConfig {
    /// The API root.
    pub base_url: String,
    /// The name of the environment variable that holds the token.
    pub token_env: String,
    /// Labels put on every PR.
    pub labels: Vec<String>,
    /// The project PRs go to (`owner/repo`, `group/subgroup/project`) when it cannot be read from
    /// the remote's URL or the task's issue.
    pub project: String,
}

/// Which store holds the tasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `redb://PATH` (a file; relative to the state directory), `postgres://USER@HOST/DB` (a
    /// database many machines share; the password from the URL or `PGPASSWORD`), or empty for
    /// `state.redb` in the state directory.
    pub url: String,
    /// On a shared store: how long a worker's lease of a task lasts without a heartbeat (renewed
    /// every third of it); a task whose worker died is resumed by another this long after.
    pub lease_secs: u64,
    /// Where logs, patches, PR documents and evaluation outputs go, named in events by content
    /// hash: empty for `artifacts/` in the state directory, a directory, or `s3://BUCKET/PREFIX`
    /// (credentials from `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`). Workers on many
    /// machines share a bucket.
    pub artifacts: String,
    /// The S3-compatible service's address when it is not AWS (`http://minio.lan:9000`).
    pub artifacts_endpoint: String,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig { url: String::new(), lease_secs: 60, artifacts: String::new(), artifacts_endpoint: String::new() }
    }
}

/// The loopback HTTP API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Whether the control room and `ambidex serve` start it.
    pub enabled: bool,
    /// The port on 127.0.0.1 (0 picks a free one).
    pub port: u16,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: u64,
}

/// The control room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TuiConfig {
    /// A theme name from `themes/` or a path to a theme file.
    pub theme: String,
    /// Ring the terminal bell when a gate opens.
    pub bell: bool,
    /// Send an OSC 9 desktop notification when a gate opens.
    pub osc9: bool,
    /// Frames per second at most.
    pub max_fps: u32,
    /// Key overrides: action name → keys separated by spaces (`approve = "y"`, `down = "j down"`);
    /// `?` in the control room lists the actions.
    pub keymap: BTreeMap<String, String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self { max_concurrent_tasks: 2, challengers: Challengers::Count(2) }
    }
}

impl Default for GitConfig {
    fn default() -> Self {
        Self { author_name: "Ambidex".into(), author_email: "ambidex@localhost".into() }
    }
}

impl Default for ModelsConfig {
    fn default() -> Self {
        Self { default_provider: "openai".into() }
    }
}

impl Default for ProviderConfig {
    fn default() -> Self {
        Self {
            kind: ProviderKind::Openai,
            base_url: String::new(),
            api_key_env: String::new(),
            model: String::new(),
            headers: BTreeMap::new(),
            connect_timeout_secs: 10,
            idle_timeout_secs: 90,
            max_retries: 4,
            input_price_per_mtok: 0.0,
            cached_input_price_per_mtok: None,
            output_price_per_mtok: 0.0,
            max_output_tokens: None,
            max_tokens_field: None,
            reasoning_effort: None,
            temperature: None,
            context_window: None,
            extra_body: BTreeMap::new(),
            prompt_caching: true,
            script: String::new(),
        }
    }
}

impl Default for ForgesConfig {
    fn default() -> Self {
        Self {
            delivery: "local".into(),
            github: ForgeConfig {
                base_url: "https://api.github.com".into(),
                token_env: "GITHUB_TOKEN".into(),
                labels: Vec::new(),
                project: String::new(),
            },
            gitlab: ForgeConfig {
                base_url: "https://gitlab.com/api/v4".into(),
                token_env: "GITLAB_TOKEN".into(),
                labels: Vec::new(),
                project: String::new(),
            },
            remote: "origin".into(),
            max_retries: 3,
            max_wait_secs: 300,
            max_reworks: 3,
            rework_on_ci_failure: true,
        }
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self { enabled: true, port: 7878, max_body_bytes: 1024 * 1024 }
    }
}

impl Default for TuiConfig {
    fn default() -> Self {
        Self { theme: "dark".into(), bell: true, osc9: true, max_fps: 60, keymap: BTreeMap::new() }
    }
}

fn preset(kind: ProviderKind, base_url: &str, api_key_env: &str, model: &str, prices: (f64, f64)) -> ProviderConfig {
    ProviderConfig {
        kind,
        base_url: base_url.into(),
        api_key_env: api_key_env.into(),
        model: model.into(),
        input_price_per_mtok: prices.0,
        output_price_per_mtok: prices.1,
        ..ProviderConfig::default()
    }
}

fn cached(provider: ProviderConfig, price: f64) -> ProviderConfig {
    ProviderConfig { cached_input_price_per_mtok: Some(price), ..provider }
}

impl Default for Config {
    fn default() -> Self {
        use ProviderKind::{Anthropic, Openai, OpenaiResponses};
        let free = (0.0, 0.0);
        let providers = [
            // Current models as of late 2026 (see the README's "Choosing a model"); prices per
            // million tokens: input, output; cached input is a tenth of input for both.
            (
                "openai",
                cached(preset(Openai, "https://api.openai.com/v1", "OPENAI_API_KEY", "gpt-5.5", (5.0, 30.0)), 0.5),
            ),
            (
                "anthropic",
                cached(
                    preset(
                        Anthropic,
                        "https://api.anthropic.com",
                        "ANTHROPIC_API_KEY",
                        "claude-sonnet-4-6",
                        (3.0, 15.0),
                    ),
                    0.3,
                ),
            ),
            (
                "openai-responses",
                cached(
                    preset(OpenaiResponses, "https://api.openai.com/v1", "OPENAI_API_KEY", "gpt-5.5", (5.0, 30.0)),
                    0.5,
                ),
            ),
            ("ollama", preset(Openai, "http://localhost:11434/v1", "", "qwen2.5-coder", free)),
            ("vllm", preset(Openai, "http://localhost:8000/v1", "", "", free)),
            ("llamacpp", preset(Openai, "http://localhost:8080/v1", "", "", free)),
            ("lmstudio", preset(Openai, "http://localhost:1234/v1", "", "", free)),
            ("openrouter", preset(Openai, "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", "", free)),
        ]
        .into_iter()
        .map(|(name, provider)| (name.to_owned(), provider))
        .collect();
        Self {
            state_dir: String::new(),
            store: StoreConfig::default(),
            engine: EngineConfig::default(),
            git: GitConfig::default(),
            models: ModelsConfig::default(),
            providers,
            roles: BTreeMap::new(),
            forges: ForgesConfig::default(),
            api: ApiConfig::default(),
            tui: TuiConfig::default(),
            sandbox: SandboxConfig::default(),
            setup: SetupConfig::default(),
            hooks: Vec::new(),
            mcp: super::mcp::McpConfig::default(),
            acp: super::acp::AcpConfig::default(),
        }
    }
}

impl Config {
    /// The state directory: the configured one, else `$XDG_DATA_HOME/ambidex`, else
    /// `~/.local/share/ambidex`, else `./.ambidex-state`.
    pub fn state_dir(&self) -> PathBuf {
        if !self.state_dir.is_empty() {
            return PathBuf::from(&self.state_dir);
        }
        let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        if let Some(data) = non_empty("XDG_DATA_HOME") {
            return PathBuf::from(data).join("ambidex");
        }
        match non_empty("HOME") {
            Some(home) => PathBuf::from(home).join(".local/share/ambidex"),
            None => PathBuf::from(".ambidex-state"),
        }
    }

    /// The names of the environment variables that hold secrets this configuration uses
    /// (provider keys and forge tokens), for the redactor.
    pub fn secret_env_names(&self) -> Vec<String> {
        let providers = self.providers.values().map(|p| p.api_key_env.clone());
        let forges = [self.forges.github.token_env.clone(), self.forges.gitlab.token_env.clone()];
        let mut names: Vec<String> = providers.chain(forges).filter(|n| !n.is_empty()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// The provider a role uses, with the model it asks for.
    pub fn provider_for(&self, role: Role) -> Option<(&str, &ProviderConfig, String)> {
        self.provider_as(role, None)
    }

    /// How `role`'s requests are tuned (on a challenger's own provider when `own` names one).
    pub fn tuning_for(&self, role: Role, own: Option<&ChallengerConfig>) -> Tuning {
        let choice = self.roles.get(&role).cloned().unwrap_or_default();
        let provider = self.provider_as(role, own).map(|(_, provider, _)| provider);
        Tuning {
            max_output_tokens: choice.max_output_tokens.or(provider.and_then(|p| p.max_output_tokens)),
            reasoning_effort: choice.reasoning_effort.or(provider.and_then(|p| p.reasoning_effort.clone())),
            temperature: choice.temperature.or(provider.and_then(|p| p.temperature)),
            context_window: provider.and_then(|p| p.context_window),
        }
    }

    /// The provider and model for `role`, with a challenger's own choice (`engine.challengers`)
    /// taking precedence over the role's.
    pub fn provider_as(&self, role: Role, own: Option<&ChallengerConfig>) -> Option<(&str, &ProviderConfig, String)> {
        let mut choice = self.roles.get(&role).cloned().unwrap_or_default();
        if let Some(own) = own {
            if let Some(provider) = &own.provider {
                // Another provider: the role's model is not one of its models.
                (choice.provider, choice.model) = (provider.clone(), String::new());
            }
            if let Some(model) = &own.model {
                choice.model = model.clone();
            }
        }
        let name =
            if choice.provider.is_empty() { self.models.default_provider.as_str() } else { choice.provider.as_str() };
        let (name, provider) = self.providers.get_key_value(name)?;
        let model = if choice.model.is_empty() { provider.model.clone() } else { choice.model };
        Some((name.as_str(), provider, model))
    }
}
