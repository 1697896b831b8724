//! The public API as a caller uses it.

use textstats::words::{top_words, word_count};
use textstats::{summarize, Summary};

const POEM: &str = "The fog comes\non little cat feet.\n\nIt sits looking\nover harbor and city\non silent haunches\nand then moves on.\n";

#[test]
fn summarizes_a_poem() {
    let Summary { words, lines, blank_lines, .. } = summarize(POEM);
    assert_eq!((words, lines, blank_lines), (21, 7, 1));
}

#[test]
fn ranks_the_poem_s_words() {
    assert_eq!(top_words(POEM, 2), vec![("on".to_string(), 3), ("and".to_string(), 2)]);
}

#[test]
fn an_empty_text_has_nothing() {
    assert_eq!(word_count(""), 0);
    assert_eq!(summarize("").reading_minutes, 0);
}
