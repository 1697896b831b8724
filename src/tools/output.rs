//! What a tool call returns to the model, and how long outputs are cut.

use serde::{Deserialize, Serialize};

/// The result of one tool call, as the model will see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolOutput {
    /// Whether the call did what was asked.
    pub ok: bool,
    /// The text for the model (already bounded).
    pub text: String,
    /// Workspace files the call changed (for budgets and scope checks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed_files: Vec<String>,
}

impl ToolOutput {
    /// A successful result.
    pub fn ok(text: impl Into<String>) -> Self {
        Self { ok: true, text: text.into(), changed_files: Vec::new() }
    }

    /// A failed call: the text says what went wrong and what to do.
    pub fn error(text: impl Into<String>) -> Self {
        Self { ok: false, text: text.into(), changed_files: Vec::new() }
    }

    /// Records that the call changed `path`.
    pub fn changed(mut self, path: &str) -> Self {
        self.changed_files.push(path.to_owned());
        self
    }
}

/// Keeps the head and tail of `text` within `max_bytes`, saying what was cut and how to narrow.
pub fn bound(text: &str, max_bytes: usize, narrow_hint: &str) -> String {
    if text.len() <= max_bytes {
        return text.to_owned();
    }
    let head_len = floor_char_boundary(text, max_bytes * 2 / 3);
    let tail_start = ceil_char_boundary(text, text.len() - (max_bytes - head_len));
    let cut = tail_start - head_len;
    format!(
        "{}\n[… {cut} bytes cut from the middle of {} bytes of output; {narrow_hint} …]\n{}",
        &text[..head_len],
        text.len(),
        &text[tail_start..]
    )
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

fn ceil_char_boundary(text: &str, mut index: usize) -> usize {
    while index < text.len() && !text.is_char_boundary(index) {
        index += 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_untouched_and_long_text_keeps_head_and_tail() {
        assert_eq!(bound("abc", 10, "x"), "abc");
        let text = format!("{}{}", "h".repeat(100), "t".repeat(100));
        let cut = bound(&text, 60, "use a narrower pattern");
        assert!(cut.starts_with(&"h".repeat(40)) && cut.ends_with(&"t".repeat(20)), "{cut}");
        assert!(cut.contains("140 bytes cut from the middle of 200 bytes") && cut.contains("narrower pattern"));
    }

    #[test]
    fn cuts_never_split_a_character() {
        let text = "é".repeat(100);
        let cut = bound(&text, 51, "narrow");
        assert!(cut.contains("bytes cut"));
    }
}
