//! Text and path matching for policy rules: normalized [`Text`], compiled [`Phrases`] (keywords
//! and regexes), path [`Globs`], and the [`Compiled`] cell that holds them beside their sources.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::OnceLock;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use regex::{Regex, RegexBuilder};

/// Text normalized for rule matching: lowercase words of letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text {
    pub(super) words: Vec<String>,
    joined: String,
}

impl Text {
    /// Normalizes `raw`: lowercase, apostrophes dropped (`don't` → `dont`), every other character
    /// that is not a letter or digit a word break (`auto-merge` → `auto merge`).
    pub fn new(raw: &str) -> Text {
        let mut words = Vec::new();
        let mut word = String::new();
        for c in raw.chars() {
            if c.is_alphanumeric() {
                word.extend(c.to_lowercase());
            } else if matches!(c, '\'' | '\u{2019}') {
                // `don't` and `don’t` are one word.
            } else if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
        }
        if !word.is_empty() {
            words.push(word);
        }
        let joined = words.join(" ");
        Text { words, joined }
    }

    /// The words.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The words joined by single spaces (what regexes see).
    pub fn as_str(&self) -> &str {
        &self.joined
    }

    /// Whether there are no words.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The words that are not in `fillers`, joined by single spaces.
    pub fn without(&self, fillers: &BTreeSet<String>) -> String {
        self.words.iter().filter(|w| !fillers.contains(*w)).map(String::as_str).collect::<Vec<_>>().join(" ")
    }

    /// Whether one of `negations` comes within `window` words before word `at` ("do not push":
    /// `push` is negated). "not only" and "not just" do not negate.
    pub fn negated(&self, at: usize, negations: &[String], window: usize) -> bool {
        let start = at.saturating_sub(window);
        (start..at.min(self.words.len())).any(|i| {
            negations.contains(&self.words[i])
                && !matches!(self.words.get(i + 1).map(String::as_str), Some("only" | "just"))
        })
    }
}

/// Where a phrase matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The keyword or regex (as written in the policy) that matched.
    pub pattern: String,
    /// The normalized words it matched.
    pub matched: String,
    /// The index of the first matched word.
    pub word: usize,
}

#[derive(Debug, Clone)]
pub(super) struct Keyword {
    source: String,
    /// Each word, and whether it matches by prefix.
    words: Vec<(String, bool)>,
}

/// Compiled keywords and regexes.
#[derive(Debug, Clone, Default)]
pub struct Phrases {
    pub(super) keywords: Vec<Keyword>,
    pub(super) regexes: Vec<(String, Regex)>,
}

impl Phrases {
    /// Compiles keywords and regexes; the error names the first bad one.
    pub fn compile(keywords: &[String], regexes: &[String]) -> Result<Phrases, String> {
        let mut phrases = Phrases::default();
        for source in keywords {
            let mut words = Vec::new();
            for token in source.split_whitespace() {
                let prefix = token.ends_with('*');
                let parts = Text::new(token.trim_end_matches('*')).words;
                let last = parts.len().saturating_sub(1);
                words.extend(parts.into_iter().enumerate().map(|(i, w)| (w, prefix && i == last)));
            }
            if words.is_empty() {
                return Err(format!("keyword `{source}` has no letters or digits"));
            }
            phrases.keywords.push(Keyword { source: source.clone(), words });
        }
        for source in regexes {
            let regex = RegexBuilder::new(source)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
                .map_err(|err| format!("invalid regex `{source}`: {err}"))?;
            phrases.regexes.push((source.clone(), regex));
        }
        Ok(phrases)
    }

    /// Like [`Phrases::compile`], skipping what does not compile (for policies built in code;
    /// loaded policies are checked strictly).
    pub(super) fn lenient(keywords: &[String], regexes: &[String]) -> Phrases {
        let mut phrases = Phrases::default();
        for keyword in keywords {
            if let Ok(one) = Phrases::compile(std::slice::from_ref(keyword), &[]) {
                phrases.keywords.extend(one.keywords);
            }
        }
        for regex in regexes {
            if let Ok(one) = Phrases::compile(&[], std::slice::from_ref(regex)) {
                phrases.regexes.extend(one.regexes);
            }
        }
        phrases
    }

    /// Whether there is nothing to match.
    pub fn is_empty(&self) -> bool {
        self.keywords.is_empty() && self.regexes.is_empty()
    }

    /// Every match in `text`: keywords first (in policy order), then regexes.
    pub fn find(&self, text: &Text) -> Vec<Hit> {
        let mut hits = Vec::new();
        let words = &text.words;
        for keyword in &self.keywords {
            let len = keyword.words.len();
            if len > words.len() {
                continue;
            }
            for start in 0..=words.len() - len {
                let all =
                    keyword.words.iter().zip(&words[start..start + len]).all(|((want, prefix), got)| {
                        if *prefix { got.starts_with(want.as_str()) } else { got == want }
                    });
                if all {
                    hits.push(Hit {
                        pattern: keyword.source.clone(),
                        matched: words[start..start + len].join(" "),
                        word: start,
                    });
                }
            }
        }
        for (source, regex) in &self.regexes {
            for found in regex.find_iter(&text.joined) {
                let matched = found.as_str().trim();
                if matched.is_empty() {
                    continue;
                }
                let leading = found.as_str().len() - found.as_str().trim_start().len();
                let word = text.joined[..found.start() + leading].bytes().filter(|b| *b == b' ').count();
                hits.push(Hit { pattern: source.clone(), matched: matched.to_owned(), word });
            }
        }
        hits
    }
}

/// Compiled path globs (`/` is literal, case is ignored), with their sources.
#[derive(Debug, Clone)]
pub(super) struct Globs {
    set: GlobSet,
    pub(super) sources: Vec<String>,
}

impl Globs {
    /// Compiles `globs`; the error names the first bad one.
    pub(super) fn compile(globs: &[String]) -> Result<Globs, String> {
        let mut builder = GlobSetBuilder::new();
        for glob in globs {
            builder.add(Globs::one(glob)?);
        }
        let set = builder.build().map_err(|err| err.to_string())?;
        Ok(Globs { set, sources: globs.to_vec() })
    }

    fn one(glob: &str) -> Result<globset::Glob, String> {
        GlobBuilder::new(glob)
            .literal_separator(true)
            .case_insensitive(true)
            .build()
            .map_err(|err| format!("invalid glob `{glob}`: {}", err.kind()))
    }

    /// Like [`Globs::compile`], skipping bad globs.
    pub(super) fn lenient(globs: &[String]) -> Globs {
        let good: Vec<String> = globs.iter().filter(|glob| Globs::one(glob).is_ok()).cloned().collect();
        Globs::compile(&good).unwrap_or_else(|_| Globs { set: GlobSet::empty(), sources: Vec::new() })
    }

    /// The first glob `path` matches.
    pub(super) fn first_match(&self, path: &str) -> Option<&str> {
        let index = *self.set.matches(path).first()?;
        self.sources.get(index).map(String::as_str)
    }
}

/// A matcher compiled from the fields beside it: built when the policy loads (strictly), or on
/// first use for a policy built in code. It takes no part in comparisons, being derived.
#[derive(Clone)]
pub(super) struct Compiled<T>(pub(super) OnceLock<T>);

impl<T> Default for Compiled<T> {
    fn default() -> Self {
        Compiled(OnceLock::new())
    }
}

impl<T> PartialEq for Compiled<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> Eq for Compiled<T> {}

impl<T> fmt::Debug for Compiled<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.get().is_some() { "compiled" } else { "not compiled" })
    }
}

impl<T> Compiled<T> {
    pub(super) fn get_or(&self, init: impl FnOnce() -> T) -> &T {
        self.0.get_or_init(init)
    }

    pub(super) fn set(&self, value: T) {
        // Already compiled from the same fields: keep it.
        let _ = self.0.set(value);
    }
}
