//! Forge tokens: read from the environment variable named in `forges.<kind>.token_env`, or, when
//! that variable is unset, from the forge's own CLI if it is installed and logged in:
//! `gh auth token` for GitHub, `glab config get token` for GitLab.
//!
//! A [`Token`] never prints itself; tokens obtained from a CLI are remembered for the process so
//! [`redactor_secrets`] can hand them to the redactor before anything is stored.

use std::collections::HashMap;
use std::fmt;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use super::issue_ref::web_host;
use super::{ForgeError, ForgeKind};
use crate::config::ForgesConfig;

/// A forge token. Its `Debug` shows where it came from, never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    value: String,
    source: String,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token(from {})", self.source)
    }
}

impl Token {
    /// A token with a description of where it came from (e.g. `$GITHUB_TOKEN`).
    pub fn new(value: impl Into<String>, source: impl Into<String>) -> Self {
        Self { value: value.into().trim().to_owned(), source: source.into() }
    }

    /// The secret itself, for an `Authorization` header or a git credential only.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// Where it came from, for messages (`$GITHUB_TOKEN`, `` `gh auth token` ``).
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// What a forge CLI answered, by forge and host (`None`: no token from it).
type CliTokens = HashMap<(ForgeKind, String), Option<String>>;

/// Tokens obtained from a forge CLI, for this process.
fn cli_cache() -> &'static Mutex<CliTokens> {
    static CACHE: OnceLock<Mutex<CliTokens>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The forge's CLI command that prints its token for `host`, and how messages name it.
fn cli_command(kind: ForgeKind, host: &str) -> Option<(Command, &'static str)> {
    let (program, args, shown) = match kind {
        ForgeKind::Github => ("gh", vec!["auth", "token", "--hostname", host], "`gh auth token`"),
        ForgeKind::Gitlab => ("glab", vec!["config", "get", "token", "--host", host], "`glab config get token`"),
        ForgeKind::Local => return None,
    };
    let mut command = Command::new(program);
    command.args(args);
    Some((command, shown))
}

/// Asks the forge's CLI for its token once per forge and host; `None` when the CLI is missing or
/// logged out.
fn cli_token(kind: ForgeKind, forges: &ForgesConfig) -> Option<(String, &'static str)> {
    let host = web_host(kind, forges)?;
    let (mut command, shown) = cli_command(kind, &host)?;
    let mut cache = cli_cache().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(known) = cache.get(&(kind, host.clone())) {
        return known.clone().map(|token| (token, shown));
    }
    let output = command
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty());
    cache.insert((kind, host), output.clone());
    output.map(|token| (token, shown))
}

/// The token for a forge: `$<token_env>` when set and not empty, else (GitHub) `gh auth token`.
pub fn resolve(kind: ForgeKind, forges: &ForgesConfig) -> Result<Token, ForgeError> {
    let Some(config) = kind.config(forges) else {
        return Err(ForgeError::Unsupported("local delivery needs no token".into()));
    };
    let env = config.token_env.trim();
    if !env.is_empty()
        && let Ok(value) = std::env::var(env)
        && !value.trim().is_empty()
    {
        return Ok(Token::new(value, format!("${env}")));
    }
    if let Some((value, shown)) = cli_token(kind, forges) {
        return Ok(Token::new(value, shown));
    }
    let (scopes, extra) = match kind {
        ForgeKind::Github => (
            "the `repo` scope (or, fine-grained: Contents, Pull requests and Issues read/write)",
            ", or log in with `gh auth login`",
        ),
        _ => ("the `api` scope", ", or log in with `glab auth login`"),
    };
    let variable = if env.is_empty() { format!("`forges.{kind}.token_env`") } else { format!("${env}") };
    Err(ForgeError::Config(format!("no {} token: set {variable} to a token with {scopes}{extra}", kind.display_name())))
}

/// Forge tokens the redactor must know besides the configured variables: every token this
/// process got from a forge CLI, and, when delivery goes to a forge whose variable is unset, the
/// one its CLI would give now.
pub fn redactor_secrets(forges: &ForgesConfig) -> Vec<(String, String)> {
    let delivery = forges.delivery.parse::<ForgeKind>().unwrap_or(ForgeKind::Local);
    if let Some(config) = delivery.config(forges) {
        let env = config.token_env.trim();
        let set = !env.is_empty() && std::env::var(env).is_ok_and(|v| !v.trim().is_empty());
        if !set {
            let _ = cli_token(delivery, forges);
        }
    }
    let cache = cli_cache().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    cache.iter().filter_map(|((kind, _), value)| Some((format!("{kind} CLI token"), value.clone()?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_print_their_value() {
        let token = Token::new(" ghp_secretvalue123\n", "$GITHUB_TOKEN");
        assert_eq!(token.expose(), "ghp_secretvalue123");
        assert_eq!(format!("{token:?}"), "Token(from $GITHUB_TOKEN)");
    }

    #[test]
    fn a_missing_gitlab_token_says_which_variable_and_scope() {
        let mut forges = ForgesConfig::default();
        forges.gitlab.token_env = "AMBIDEX_TEST_SURELY_UNSET_TOKEN".into();
        let err = resolve(ForgeKind::Gitlab, &forges).unwrap_err().to_string();
        assert!(err.contains("$AMBIDEX_TEST_SURELY_UNSET_TOKEN") && err.contains("`api` scope"), "{err}");
    }
}
