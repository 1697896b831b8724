//! Sortable identifiers for the things events talk about.
//!
//! Every id is a ULID: 128 bits, lexicographically sortable by creation time, printed as 26
//! Crockford base-32 characters. Users may refer to an id by any unique suffix of it (the random
//! part), which is what [`short`](TaskId::short) prints.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

/// Number of trailing characters shown by the short form of an id.
pub const SHORT_ID_LEN: usize = 8;

/// The error for a string that is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a valid {what} id (expected 26 characters of Crockford base-32)")]
pub struct ParseIdError {
    what: &'static str,
    input: String,
}

/// Ids from one process sort in creation order even within a millisecond.
static GENERATOR: Mutex<ulid::Generator> = Mutex::new(ulid::Generator::new());

fn next_ulid() -> Ulid {
    let mut generator = GENERATOR.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // The generator only fails after 2^80 ids in one millisecond; a random id is fine then.
    generator.generate().unwrap_or_else(|_| Ulid::new())
}

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Ulid);

        impl $name {
            /// A new id, ordered after every id made earlier in this process.
            pub fn new() -> Self {
                Self(next_ulid())
            }

            /// The id as a 128-bit integer, used as a fixed-width store key.
            pub fn as_u128(self) -> u128 {
                self.0.0
            }

            /// Rebuilds an id from its 128-bit form.
            pub fn from_u128(value: u128) -> Self {
                Self(Ulid(value))
            }

            /// The last [`SHORT_ID_LEN`] characters, lowercase: enough to tell ids apart.
            pub fn short(self) -> String {
                let full = self.0.to_string();
                full[full.len() - SHORT_ID_LEN..].to_ascii_lowercase()
            }

            /// Whether `fragment` (any case) is a suffix of this id: how users abbreviate ids.
            pub fn matches_suffix(self, fragment: &str) -> bool {
                let full = self.0.to_string();
                !fragment.is_empty()
                    && full.len() >= fragment.len()
                    && full[full.len() - fragment.len()..].eq_ignore_ascii_case(fragment)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ulid::from_string(s.trim()).map(Self).map_err(|_| ParseIdError {
                    what: $what,
                    input: s.to_owned(),
                })
            }
        }
    };
}

define_id!(
    /// Identifies a task from intake to delivery.
    TaskId,
    "task"
);
define_id!(
    /// Identifies a human decision point.
    GateId,
    "gate"
);
define_id!(
    /// Identifies an entry of a repository's memory.
    MemoryId,
    "memory entry"
);
define_id!(
    /// Identifies an exhibit of a repository's bug museum.
    ExhibitId,
    "exhibit"
);

define_id!(
    /// Identifies one tool call made by an agent.
    ToolCallId,
    "tool call"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_creation_and_round_trip() {
        let a = TaskId::new();
        let b = TaskId::new();
        assert!(a < b);
        assert_eq!(a.to_string().parse::<TaskId>().unwrap(), a);
        assert_eq!(TaskId::from_u128(a.as_u128()), a);
    }

    #[test]
    fn short_form_is_a_case_insensitive_suffix() {
        let id = TaskId::new();
        let short = id.short();
        assert_eq!(short.len(), SHORT_ID_LEN);
        assert!(id.matches_suffix(&short));
        assert!(id.matches_suffix(&short.to_uppercase()));
        assert!(!id.matches_suffix(""));
        assert!(!id.matches_suffix("not-a-suffix"));
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let err = "nope".parse::<GateId>().unwrap_err();
        assert!(err.to_string().contains("not a valid gate id"), "{err}");
    }
}
