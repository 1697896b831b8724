//! Line statistics.

/// How many lines `text` has; a final newline does not start another line.
pub fn line_count(text: &str) -> usize {
    text.lines().count()
}

/// How many lines are empty or only whitespace.
pub fn blank_lines(text: &str) -> usize {
    text.lines().filter(|line| line.trim().is_empty()).count()
}

/// The longest line, counted in characters; the first one wins a tie. `None` for empty text.
pub fn longest_line(text: &str) -> Option<&str> {
    let mut longest: Option<&str> = None;
    for line in text.lines() {
        match longest {
            Some(best) if best.chars().count() >= line.chars().count() => {}
            _ => longest = Some(line),
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_lines_without_a_trailing_one() {
        assert_eq!(line_count("a\nb\n"), 2);
        assert_eq!(line_count("a\nb"), 2);
        assert_eq!(line_count(""), 0);
    }

    #[test]
    fn blank_lines_include_whitespace_only_lines() {
        assert_eq!(blank_lines("a\n\n  \nb"), 2);
    }

    #[test]
    fn longest_line_counts_characters_and_keeps_the_first() {
        assert_eq!(longest_line("abc\néééé\nwxyz"), Some("éééé"));
        assert_eq!(longest_line(""), None);
    }
}
