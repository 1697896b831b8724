//! Splitting text into words, counting them and ranking the most frequent.

use std::collections::HashMap;

/// The words of `text`, as written: runs of non-whitespace with the punctuation around them
/// trimmed (`"Hello,"` → `"Hello"`). Pieces with no letter or digit (a lone `--`) are skipped.
pub fn words(text: &str) -> Vec<&str> {
    text.split_whitespace()
        .map(|word| word.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|word| !word.is_empty())
        .collect()
}

/// How many words `text` has.
pub fn word_count(text: &str) -> usize {
    words(text).len()
}

/// The average length of a word in characters; 0.0 when there are no words.
pub fn average_word_length(text: &str) -> f64 {
    let words = words(text);
    if words.is_empty() {
        return 0.0;
    }
    let total: usize = words.iter().map(|word| word.chars().count()).sum();
    total as f64 / words.len() as f64
}

/// The `n` most frequent words with their counts, most frequent first; words with the same
/// count are listed alphabetically.
pub fn top_words(text: &str, n: usize) -> Vec<(String, usize)> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for word in words(text) {
        *counts.entry(word).or_insert(0) += 1;
    }
    let mut ranked: Vec<(String, usize)> = counts.into_iter().map(|(word, count)| (word.to_string(), count)).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(n);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_trim_punctuation() {
        assert_eq!(words("Hello, world! -- (bye)."), vec!["Hello", "world", "bye"]);
    }

    #[test]
    fn words_keep_their_case() {
        assert_eq!(words("Rust RUST rust"), vec!["Rust", "RUST", "rust"]);
    }

    #[test]
    fn counts_words_across_lines() {
        assert_eq!(word_count("one two  three\nfour\n\nfive"), 5);
        assert_eq!(word_count(""), 0);
    }

    #[test]
    fn average_length_in_characters() {
        assert_eq!(average_word_length("ab abcd"), 3.0);
        assert_eq!(average_word_length("  "), 0.0);
    }

    #[test]
    fn top_words_rank_by_count_then_alphabetically() {
        let ranked = top_words("b a c b a b", 2);
        assert_eq!(ranked, vec![("b".to_string(), 3), ("a".to_string(), 2)]);
    }

    #[test]
    fn top_words_of_empty_text() {
        assert!(top_words("", 3).is_empty());
    }
}
