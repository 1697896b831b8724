//! Layered configuration: built-in < user file < repo file < `AMBIDEX_*` environment < flags.
//!
//! - user file: `$XDG_CONFIG_HOME/ambidex/config.toml` (or `~/.config/ambidex/config.toml`);
//! - repo file: `.ambidex/config.toml` at the root of the repository being worked on;
//! - environment: `AMBIDEX_STATE_DIR`, `AMBIDEX_TUI__THEME=light` (`__` separates table levels);
//! - flags: `--state-dir DIR` and `-c key=value` (repeatable).
//!
//! Unknown keys and bad values are errors that name the file (or variable, or flag), the line and
//! the key. [`Effective::sources`] says which layer set each key.

mod acp;
mod layers;
mod mcp;
mod model;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use acp::{AcpAgentConfig, AcpConfig};
pub use layers::Source;
pub use mcp::{McpConfig, McpServerConfig, McpVerdict, expand_variables};
pub use model::{
    ApiConfig, ChallengerConfig, Challengers, Config, ConfinementRow, EngineConfig, ForgeConfig, ForgesConfig,
    GitConfig, HookConfig, HookEvent, ModelsConfig, ProviderConfig, ProviderKind, RoleConfig, SandboxChoice,
    SandboxConfig, SetupConfig, SetupNetwork, StoreConfig, TuiConfig, Tuning,
};

use layers::Layer;

/// The prefix of configuration environment variables.
pub const ENV_PREFIX: &str = "AMBIDEX_";

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A layer has a syntax error, an unknown key or a bad value.
    #[error("{origin}{}{}: {message}", line.map(|l| format!(", line {l}")).unwrap_or_default(), key.as_ref().map(|k| format!(", key `{k}`")).unwrap_or_default())]
    Layer {
        /// The file, variable or flag.
        origin: Source,
        /// The 1-based line, for files.
        line: Option<usize>,
        /// The dotted key.
        key: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A config file exists but cannot be read.
    #[error("cannot read config file {}: {error}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The layers are each fine but do not fit together.
    #[error("{message}")]
    Invalid {
        /// What is wrong and where it was set.
        message: String,
    },
}

/// What to load: everything that is not read from fixed places.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The directory whose repository's `.ambidex/config.toml` applies (usually the current one).
    pub repo_dir: Option<PathBuf>,
    /// The user config file; `None` means the XDG location.
    pub user_file: Option<PathBuf>,
    /// Environment variables to consider (usually `std::env::vars()`).
    pub env: Vec<(String, String)>,
    /// `-c key=value` flags, in order, then `--state-dir`.
    pub flags: Vec<(String, String, String)>,
}

impl LoadOptions {
    /// Options that read this process's environment and the repository around `repo_dir`.
    pub fn from_process(repo_dir: Option<PathBuf>) -> Self {
        Self {
            repo_dir,
            user_file: None,
            env: std::env::vars().filter(|(k, _)| k.starts_with(ENV_PREFIX)).collect(),
            flags: Vec::new(),
        }
    }

    /// Adds a flag: `shown` is how it was written (for messages), `key` and `value` what it sets.
    pub fn flag(&mut self, shown: impl Into<String>, key: impl Into<String>, value: impl Into<String>) {
        self.flags.push((shown.into(), key.into(), value.into()));
    }
}

/// The effective configuration and where each key came from.
#[derive(Debug, Clone)]
pub struct Effective {
    /// The configuration.
    pub config: Config,
    /// Dotted key → the layer that set it last.
    pub sources: BTreeMap<String, Source>,
    /// The merged table, for display.
    pub table: toml::Table,
    /// The config files that were read.
    pub files: Vec<PathBuf>,
}

impl Effective {
    /// Every leaf key with its value and source, in key order.
    pub fn entries(&self) -> Vec<(String, toml::Value, Source)> {
        layers::leaves(&self.table)
            .into_iter()
            .map(|(key, value)| {
                let source = self.sources.get(&key).cloned().unwrap_or(Source::BuiltIn);
                (key, value, source)
            })
            .collect()
    }

    fn source_of(&self, key: &str) -> String {
        self.sources.get(key).map_or_else(|| "built-in".to_owned(), ToString::to_string)
    }
}

/// The user config file's usual place.
pub fn user_config_path() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    non_empty("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| PathBuf::from(home).join(".config")))
        .map(|dir| dir.join("ambidex/config.toml"))
}

fn read_layer(path: &Path, source: Source) -> Result<Option<Layer>, ConfigError> {
    match crate::protocol::bounded::read_regular_text(path, crate::protocol::bounded::MAX_INPUT_FILE_BYTES) {
        Ok(text) => Layer::from_file(source, &text).map(Some),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(ConfigError::Unreadable { path: path.to_owned(), error }),
    }
}

/// Loads and merges every layer.
pub fn load(options: &LoadOptions) -> Result<Effective, ConfigError> {
    let mut layers = vec![Layer::built_in()?];
    let mut files = Vec::new();
    let user = options.user_file.clone().or_else(user_config_path).map(|p| (p.clone(), Source::UserFile(p)));
    let repo = options.repo_dir.as_deref().and_then(crate::workspace::repo_root).map(|root| {
        let path = root.join(".ambidex/config.toml");
        (path.clone(), Source::RepoFile(path))
    });
    for (path, source) in user.into_iter().chain(repo) {
        if let Some(layer) = read_layer(&path, source)? {
            let machine_keys = [
                ("hooks", "hooks run commands on your machine outside the sandbox"),
                ("mcp", "MCP servers are programs started on your machine outside the sandbox"),
                ("acp", "ACP agents are programs started on your machine outside the sandbox"),
                ("store", "the store keeps every task's history and decisions, and only you choose where"),
            ];
            if let Source::RepoFile(_) = &layer.source
                && let Some((key, what)) = machine_keys.iter().find(|(key, _)| layer.table.contains_key(*key))
            {
                return Err(ConfigError::Layer {
                    origin: layer.source,
                    line: None,
                    key: Some((*key).into()),
                    message: format!(
                        "{what}, so a repository cannot set `{key}`: move it to your user config file \
                         (`~/.config/ambidex/config.toml`)"
                    ),
                });
            }
            layers.push(layer);
            files.push(path);
        }
    }
    let mut env: Vec<&(String, String)> = options.env.iter().filter(|(name, _)| name.starts_with(ENV_PREFIX)).collect();
    env.sort();
    for (name, value) in env {
        let key = name[ENV_PREFIX.len()..].to_ascii_lowercase().replace("__", ".");
        layers.push(Layer::from_pair(Source::Env(name.clone()), &key, value)?);
    }
    for (shown, key, value) in &options.flags {
        layers.push(Layer::from_pair(Source::Flag(shown.clone()), key, value)?);
    }
    let merged = layers::merge(layers);
    let config: Config = toml::Value::Table(merged.table.clone())
        .try_into()
        .map_err(|err: toml::de::Error| ConfigError::Invalid { message: err.message().to_owned() })?;
    let effective = Effective { config, sources: merged.sources, table: merged.table, files };
    check_references(&effective)?;
    Ok(effective)
}

/// Checks what single layers cannot: that names refer to things that exist.
fn check_references(effective: &Effective) -> Result<(), ConfigError> {
    let config = &effective.config;
    let providers = || config.providers.keys().cloned().collect::<Vec<_>>().join(", ");
    let missing = |key: &str, name: &str| ConfigError::Invalid {
        message: format!(
            "`{key}` = \"{name}\" ({}) names no provider; known providers: {}",
            effective.source_of(key),
            providers()
        ),
    };
    if !config.providers.contains_key(&config.models.default_provider) {
        return Err(missing("models.default_provider", &config.models.default_provider));
    }
    for (role, choice) in &config.roles {
        if !choice.provider.is_empty() && !config.providers.contains_key(&choice.provider) {
            return Err(missing(&format!("roles.{role}.provider"), &choice.provider));
        }
    }
    if let Challengers::Each(each) = &config.engine.challengers
        && let Some(provider) =
            each.iter().filter_map(|c| c.provider.as_ref()).find(|p| !config.providers.contains_key(*p))
    {
        return Err(missing("engine.challengers", provider));
    }
    if !["local", "github", "gitlab"].contains(&config.forges.delivery.as_str()) {
        return Err(ConfigError::Invalid {
            message: format!(
                "`forges.delivery` = \"{}\" ({}) must be one of: local, github, gitlab",
                config.forges.delivery,
                effective.source_of("forges.delivery")
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
