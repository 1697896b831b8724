//! Merging configuration layers while remembering where each key came from.
//!
//! Each layer is a TOML table. It is checked alone against [`Config`] first, so an error points
//! at the file (or variable, or flag) and line that caused it; then the layers are deep-merged in
//! order, each leaf key recording the layer that set it last.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use super::ConfigError;
use super::model::Config;

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "layer", content = "origin", rename_all = "snake_case")]
pub enum Source {
    /// Compiled into ambidex.
    BuiltIn,
    /// `~/.config/ambidex/config.toml`.
    UserFile(PathBuf),
    /// `<repo>/.ambidex/config.toml`.
    RepoFile(PathBuf),
    /// An `AMBIDEX_*` environment variable.
    Env(String),
    /// A command-line flag.
    Flag(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::BuiltIn => f.write_str("built-in"),
            Source::UserFile(path) => write!(f, "user file {}", path.display()),
            Source::RepoFile(path) => write!(f, "repo file {}", path.display()),
            Source::Env(name) => write!(f, "environment {name}"),
            Source::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// One layer: a table and where it came from.
pub(crate) struct Layer {
    pub source: Source,
    pub table: toml::Table,
}

impl Layer {
    /// The built-in defaults as a layer, so every key has a source.
    pub fn built_in() -> Result<Layer, ConfigError> {
        let table = toml::Table::try_from(Config::default())
            .map_err(|err| ConfigError::Invalid { message: format!("built-in defaults: {err}") })?;
        Ok(Layer { source: Source::BuiltIn, table })
    }

    /// Parses and checks a TOML file's text.
    pub fn from_file(source: Source, text: &str) -> Result<Layer, ConfigError> {
        let where_ = source.clone();
        let located = |err: toml::de::Error| {
            let (line, key) = match err.span() {
                Some(span) => (Some(line_of(text, span.start)), key_at(text, span.start)),
                None => (None, None),
            };
            ConfigError::Layer { origin: where_.clone(), line, key, message: err.message().trim_end().to_owned() }
        };
        let table: toml::Table = toml::from_str(text).map_err(located)?;
        toml::from_str::<Config>(text).map_err(located)?;
        Ok(Layer { source, table })
    }

    /// A layer of one dotted key, from an environment variable or a flag, with a raw value that is
    /// read as TOML when it parses as TOML and as a string otherwise.
    pub fn from_pair(source: Source, key: &str, raw: &str) -> Result<Layer, ConfigError> {
        let path: Vec<&str> = key.split('.').collect();
        if path.iter().any(|part| part.is_empty()) {
            return Err(ConfigError::Layer {
                origin: source,
                line: None,
                key: Some(key.to_owned()),
                message: "a key is dotted words, like `tui.theme`".into(),
            });
        }
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_owned()));
        let (last, parents) = path.split_last().unwrap_or((&"", &[]));
        let mut table = toml::Table::new();
        table.insert((*last).to_owned(), value);
        for part in parents.iter().rev() {
            let mut outer = toml::Table::new();
            outer.insert((*part).to_owned(), toml::Value::Table(table));
            table = outer;
        }
        toml::Value::Table(table.clone()).try_into::<Config>().map_err(|err| ConfigError::Layer {
            origin: source.clone(),
            line: None,
            key: Some(key.to_owned()),
            message: err.message().trim_end().to_owned(),
        })?;
        Ok(Layer { source, table })
    }
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    1 + text[..offset.min(text.len())].matches('\n').count()
}

/// The dotted key on the line at `offset`, prefixed by the table header above it.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or_default();
    let key = line.split_once('=').map(|(k, _)| k.trim().trim_matches('"').to_owned());
    let header = text[..line_start].lines().rev().find_map(|l| {
        let l = l.trim();
        l.starts_with('[').then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned())
    });
    match (header, key) {
        (Some(header), Some(key)) => Some(format!("{header}.{key}")),
        (None, Some(key)) => Some(key),
        (Some(header), None) => Some(header),
        (None, None) => None,
    }
}

/// The merged table and the source of every leaf key.
pub(crate) struct Merged {
    pub table: toml::Table,
    pub sources: BTreeMap<String, Source>,
}

/// Deep-merges `layers` in order.
pub(crate) fn merge(layers: Vec<Layer>) -> Merged {
    let mut merged = Merged { table: toml::Table::new(), sources: BTreeMap::new() };
    for layer in layers {
        merge_into(&mut merged.table, layer.table, "", &layer.source, &mut merged.sources);
    }
    merged
}

fn merge_into(
    base: &mut toml::Table,
    overlay: toml::Table,
    prefix: &str,
    source: &Source,
    sources: &mut BTreeMap<String, Source>,
) {
    for (key, value) in overlay {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(existing)), toml::Value::Table(incoming)) => {
                merge_into(existing, incoming, &path, source, sources);
            }
            (_, value) => {
                let nested = format!("{path}.");
                sources.retain(|k, _| !k.starts_with(&nested));
                record_leaves(&value, &path, source, sources);
                base.insert(key, value);
            }
        }
    }
}

fn record_leaves(value: &toml::Value, path: &str, source: &Source, sources: &mut BTreeMap<String, Source>) {
    match value {
        toml::Value::Table(table) if !table.is_empty() => {
            for (key, inner) in table {
                record_leaves(inner, &format!("{path}.{key}"), source, sources);
            }
        }
        _ => {
            sources.insert(path.to_owned(), source.clone());
        }
    }
}

/// Every leaf of `table` as `(dotted key, value)`, in key order.
pub(crate) fn leaves(table: &toml::Table) -> Vec<(String, toml::Value)> {
    fn walk(table: &toml::Table, prefix: &str, out: &mut Vec<(String, toml::Value)>) {
        for (key, value) in table {
            let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            match value {
                toml::Value::Table(inner) if !inner.is_empty() => walk(inner, &path, out),
                other => out.push((path, other.clone())),
            }
        }
    }
    let mut out = Vec::new();
    walk(table, "", &mut out);
    out
}
