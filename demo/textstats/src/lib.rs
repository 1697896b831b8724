//! `textstats`: word, line and reading-time statistics for plain text.
//!
//! - [`words`] splits text into words, counts them and ranks the most frequent;
//! - [`lines`] counts lines and blank lines and finds the longest line;
//! - [`summary`] computes everything at once, with the reading time.

pub mod lines;
pub mod summary;
pub mod words;

pub use summary::{summarize, Summary};
