//! The state's former home: it now lives in [`super::app`]; these names stay for callers.

pub use super::app::{AppState, Msg};
