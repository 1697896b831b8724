//! What agents may do through the tool broker. For now: which sandbox levels this machine offers.

pub mod sandbox;
