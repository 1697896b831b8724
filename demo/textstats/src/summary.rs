//! Everything at once: words, lines, characters and the reading time.

use crate::lines::{blank_lines, line_count};
use crate::words::word_count;

/// How fast an average adult reads, in words per minute.
pub const WORDS_PER_MINUTE: usize = 200;

/// The statistics of one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Words (see [`crate::words::words`]).
    pub words: usize,
    /// Lines.
    pub lines: usize,
    /// Lines that are empty or only whitespace.
    pub blank_lines: usize,
    /// Characters (not bytes).
    pub characters: usize,
    /// Minutes to read it at [`WORDS_PER_MINUTE`].
    pub reading_minutes: usize,
}

/// Computes the [`Summary`] of `text`.
pub fn summarize(text: &str) -> Summary {
    let words = word_count(text);
    Summary {
        words,
        lines: line_count(text),
        blank_lines: blank_lines(text),
        characters: text.chars().count(),
        reading_minutes: reading_minutes(words, WORDS_PER_MINUTE),
    }
}

/// Minutes needed to read `words` words at `per_minute` words a minute. A started minute counts
/// as a whole one: any text with words takes at least one minute.
pub fn reading_minutes(words: usize, per_minute: usize) -> usize {
    words / per_minute
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_minutes() {
        assert_eq!(reading_minutes(400, 200), 2);
        assert_eq!(reading_minutes(0, 200), 0);
    }

    #[test]
    fn summary_counts_words_lines_and_characters() {
        let summary = summarize("one two three\n\nfour five\n");
        assert_eq!((summary.words, summary.lines, summary.blank_lines), (5, 3, 1));
        assert_eq!(summary.characters, 25);
    }
}
