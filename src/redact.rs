//! Secret redaction: the one choke point every text passes before it is persisted, shown, logged
//! or sent to a model.
//!
//! Two kinds of rules: the exact values of every secret the system knows (provider keys, forge
//! tokens, environment variables named like `*_KEY`, `*_TOKEN`, `*_SECRET`, `*PASSWORD*`), and
//! curated token patterns (AWS, GitHub, OpenAI, Anthropic, Slack, Stripe, PEM private keys, JWTs,
//! and `key = value` assignments whose value looks random). Matches become `[REDACTED:<rule>]`.
//! [`RedactingStream`] does the same for text that arrives in chunks, holding back only what
//! could still be the start of a secret.
//!
//! A known secret is also found encoded (`redact/encoded.rs`): base64 at each of its three
//! alignments, base64url, hex and URL-encoding, and inside base64 or hex wrapped over several
//! lines (what `base64` and `xxd -p` print); those become `[REDACTED:<name>/<encoding>]`.

mod dotenv;
mod encoded;

pub use dotenv::dotenv_secrets;

use std::borrow::Cow;

use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;

/// Secrets shorter than this are not redacted by value (too many false positives).
const MIN_SECRET_LEN: usize = 8;
/// A partial line longer than this is released except for its last [`HOLD_BACK`] bytes.
const MAX_PENDING: usize = 8192;
/// How much of a long partial line is held back in case a secret straddles the chunk boundary.
const HOLD_BACK: usize = 512;
/// A PEM block is held at most this long waiting for its END line.
const MAX_PEM: usize = 16 * 1024;

struct Pattern {
    rule: &'static str,
    regex: Regex,
    /// The capture group holding the secret (0 = the whole match).
    group: usize,
    /// The least Shannon entropy (bits per character) the secret must have.
    min_entropy: Option<f64>,
}

/// Redacts known secret values and secret-looking tokens.
pub struct Redactor {
    exact: Option<AhoCorasick>,
    exact_rules: Vec<String>,
    patterns: Vec<Pattern>,
    /// Every pattern's anchors: one pass says which patterns need a closer look.
    anchors: Option<(AhoCorasick, Vec<usize>)>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secrets themselves.
        write!(f, "Redactor({} known secret forms, {} patterns)", self.exact_rules.len(), self.patterns.len())
    }
}

/// Whether an environment variable's name says it holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper.ends_with("_KEY")
        || upper.ends_with("_TOKEN")
        || upper.ends_with("_SECRET")
        || upper.contains("PASSWORD")
        || upper.contains("PASSWD")
        || upper.ends_with("_API_KEY")
        || upper.ends_with("_CREDENTIALS")
}

fn entropy(text: &str) -> f64 {
    let mut counts = [0u32; 256];
    for byte in text.bytes() {
        counts[byte as usize] += 1;
    }
    let len = text.len() as f64;
    counts.iter().filter(|&&c| c > 0).map(|&c| -(c as f64 / len) * (c as f64 / len).log2()).sum()
}

/// Whether a `key = value` value is a secret rather than code: random enough, not a call
/// (`read_token(…)`), and not a plain identifier or dotted path (`self.token`).
fn looks_random(value: &str, after: &str, min_entropy: Option<f64>) -> bool {
    let is_call = after.starts_with('(');
    let identifier = value.chars().all(|c| c.is_ascii_alphabetic() || c == '_' || c == '.' || c == '-');
    !is_call && !identifier && min_entropy.is_none_or(|min| entropy(value) >= min)
}

/// `(rule, regex, secret group, least entropy, anchors)`. A pattern only runs on text containing
/// one of its anchors (any case); word boundaries are ASCII so the fast regex engines apply to
/// any text.
type PatternRow = (&'static str, &'static str, usize, Option<f64>, &'static [&'static str]);

const PATTERNS: &[PatternRow] = &[
    (
        "pem_private_key",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----",
        0,
        None,
        &["-----begin "],
    ),
    (
        "aws_access_key",
        r"(?-u:\b)(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}(?-u:\b)",
        0,
        None,
        &["akia", "asia", "agpa", "aida", "aroa", "anpa", "anva", "aipa"],
    ),
    ("aws_secret_key", r#"(?i)aws_?secret_?access_?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{40})"#, 1, None, &["secret"]),
    (
        "github_token",
        r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})(?-u:\b)",
        0,
        None,
        &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
    ),
    ("anthropic_key", r"(?-u:\b)sk-ant-[A-Za-z0-9_\-]{20,}", 0, None, &["sk-ant-"]),
    ("openai_key", r"(?-u:\b)sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}", 0, None, &["sk-"]),
    ("slack_token", r"(?-u:\b)xox[abposr]-[A-Za-z0-9\-]{10,}", 0, None, &["xox"]),
    ("stripe_key", r"(?-u:\b)(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}", 0, None, &["_live_", "_test_"]),
    ("jwt", r"(?-u:\b)eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}", 0, None, &["eyj"]),
    (
        "generic_secret",
        r#"(?i)(?-u:\b)[a-z0-9_.\-]*(?:secret|token|passwd|password|api[_\-]?key|access[_\-]?key|auth[_\-]?key|private[_\-]?key)[a-z0-9_.\-]*["']?\s*[:=]\s*["']?([^\s"'`,;()\[\]{}<>\\]{8,})"#,
        1,
        Some(3.0),
        &["secret", "token", "passw", "key"],
    ),
];

fn patterns() -> Vec<Pattern> {
    PATTERNS
        .iter()
        .filter_map(|(rule, source, group, min_entropy, _)| {
            // The table is static and tested; a pattern that failed to compile would be skipped.
            Regex::new(source).ok().map(|regex| Pattern { rule, regex, group: *group, min_entropy: *min_entropy })
        })
        .collect()
}

/// One automaton over every pattern's anchors, and which pattern each anchor belongs to.
fn anchors() -> Option<(AhoCorasick, Vec<usize>)> {
    let mut words = Vec::new();
    let mut owners = Vec::new();
    for (index, row) in PATTERNS.iter().enumerate() {
        for anchor in row.4 {
            words.push(*anchor);
            owners.push(index);
        }
    }
    let automaton = AhoCorasick::builder().ascii_case_insensitive(true).build(words).ok()?;
    Some((automaton, owners))
}

impl Redactor {
    /// A redactor for the given named secrets (values shorter than 8 characters are ignored).
    pub fn new(secrets: impl IntoIterator<Item = (String, String)>) -> Redactor {
        let mut pairs: Vec<(String, String)> =
            secrets.into_iter().filter(|(_, value)| value.trim().len() >= MIN_SECRET_LEN).collect();
        let encodings: Vec<(String, String)> = pairs
            .iter()
            .flat_map(|(name, value)| {
                encoded::variants(value).into_iter().map(move |(encoding, form)| (format!("{name}/{encoding}"), form))
            })
            .collect();
        pairs.extend(encodings);
        pairs.sort_by_key(|(_, value)| (std::cmp::Reverse(value.len()), value.clone()));
        pairs.dedup_by(|a, b| a.1 == b.1);
        let exact = (!pairs.is_empty())
            .then(|| {
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(pairs.iter().map(|(_, v)| v.as_str()))
            })
            .and_then(Result::ok);
        Redactor {
            exact,
            exact_rules: pairs.into_iter().map(|(name, _)| name).collect(),
            patterns: patterns(),
            anchors: anchors(),
        }
    }

    /// A redactor for every secret-named variable of this process's environment, plus `extra`.
    pub fn from_env(extra: impl IntoIterator<Item = (String, String)>) -> Redactor {
        let env = std::env::vars().filter(|(name, _)| is_secret_name(name));
        Redactor::new(env.chain(extra))
    }

    /// The text with every secret replaced.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut current: Cow<'a, str> = Cow::Borrowed(text);
        if let Some(exact) = &self.exact {
            // Encoded secrets wrapped over lines: a block whose joined lines hold one goes whole.
            let blocks = encoded::wrapped_blocks(current.as_ref());
            let mut out = String::new();
            let mut last = 0;
            for (start, end, joined) in blocks {
                if let Some(found) = exact.find(&joined) {
                    out.push_str(&current[last..start]);
                    out.push_str(&format!("[REDACTED:{}]", self.exact_rules[found.pattern().as_usize()]));
                    last = end;
                }
            }
            if last > 0 {
                out.push_str(&current[last..]);
                current = Cow::Owned(out);
            }
        }
        if let Some(exact) = &self.exact
            && exact.is_match(current.as_ref())
        {
            let mut out = String::with_capacity(current.len());
            let mut last = 0;
            for found in exact.find_iter(current.as_ref()) {
                out.push_str(&current[last..found.start()]);
                out.push_str(&format!("[REDACTED:{}]", self.exact_rules[found.pattern().as_usize()]));
                last = found.end();
            }
            out.push_str(&current[last..]);
            current = Cow::Owned(out);
        }
        let hits: Vec<usize> = match &self.anchors {
            Some((automaton, owners)) => {
                let mut found: Vec<usize> =
                    automaton.find_overlapping_iter(current.as_ref()).map(|m| owners[m.pattern().as_usize()]).collect();
                found.sort_unstable();
                found.dedup();
                found
            }
            None => (0..self.patterns.len()).collect(),
        };
        for pattern in hits.into_iter().filter_map(|i| self.patterns.get(i)) {
            if !pattern.regex.is_match(current.as_ref()) {
                continue;
            }
            let mut out = String::with_capacity(current.len());
            let mut last = 0;
            for captures in pattern.regex.captures_iter(current.as_ref()) {
                let Some(secret) = captures.get(pattern.group) else {
                    continue;
                };
                if pattern.min_entropy.is_some()
                    && !looks_random(secret.as_str(), &current[secret.end()..], pattern.min_entropy)
                {
                    continue;
                }
                out.push_str(&current[last..secret.start()]);
                out.push_str(&format!("[REDACTED:{}]", pattern.rule));
                last = secret.end();
            }
            if last > 0 {
                out.push_str(&current[last..]);
                current = Cow::Owned(out);
            }
        }
        current
    }

    /// A stream redactor for text that arrives in chunks.
    pub fn stream(&self) -> RedactingStream<'_> {
        RedactingStream { redactor: self, pending: String::new() }
    }
}

/// Redacts chunked text without letting a secret through when it is split across chunks.
pub struct RedactingStream<'a> {
    redactor: &'a Redactor,
    pending: String,
}

impl RedactingStream<'_> {
    /// Adds a chunk; returns the redacted text that is safe to release now.
    pub fn push(&mut self, chunk: &str) -> String {
        self.pending.push_str(chunk);
        let release = self.safe_len();
        if release == 0 {
            return String::new();
        }
        let rest = self.pending.split_off(release);
        let ready = std::mem::replace(&mut self.pending, rest);
        self.redactor.redact(&ready).into_owned()
    }

    /// Releases whatever is still held.
    pub fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.pending);
        self.redactor.redact(&rest).into_owned()
    }

    /// How much of the pending text can be released: up to the last newline, but never past the
    /// start of an unfinished PEM block; a very long partial line keeps only its tail back.
    fn safe_len(&self) -> usize {
        let text = &self.pending;
        let release = match text.rfind('\n') {
            Some(newline) if text.len() - newline - 1 <= MAX_PENDING => newline + 1,
            _ if text.len() > MAX_PENDING => {
                let mut at = text.len() - HOLD_BACK;
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                at
            }
            _ => 0,
        };
        // Wrapped encoded lines just before the release point may continue in the next chunk:
        // keep the run back until it ends, so its joined lines are checked whole.
        let release = match encoded::trailing_run_start(&text[..release]) {
            Some(start) if text.len() - start <= MAX_PEM => start,
            _ => release,
        };
        // A PEM block that starts before the release point must be released whole.
        if let Some(begin) = text[..release].rfind("-----BEGIN ") {
            let block_end = text[begin..]
                .find("-----END ")
                .and_then(|end| text[begin + end..].find("KEY-----").map(|key| begin + end + key + "KEY-----".len()));
            let straddles = block_end.is_none_or(|block_end| block_end > release);
            if straddles && text.len() - begin <= MAX_PEM {
                return self.line_start_before(begin);
            }
        }
        release
    }

    fn line_start_before(&self, index: usize) -> usize {
        self.pending[..index].rfind('\n').map_or(0, |n| n + 1)
    }
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
