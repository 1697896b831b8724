//! When and how long to wait before trying a model call again.
//!
//! Exponential backoff with "equal jitter" (half the step fixed, half random), a `Retry-After` from
//! the server taking precedence (capped), and the timeouts that decide when a silent stream counts
//! as failed.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use crate::config::ProviderConfig;

/// Retry limits and timeouts for one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Further attempts after the first one fails (0 disables retries).
    pub max_retries: u32,
    /// The first backoff step; each further retry doubles it.
    pub base_delay: Duration,
    /// The longest backoff step.
    pub max_delay: Duration,
    /// The longest wait a server's `Retry-After` may impose.
    pub max_retry_after: Duration,
    /// How long a response may stay silent (before headers or between chunks); `None` waits
    /// forever.
    pub idle_timeout: Option<Duration>,
    /// How long to wait for a connection; `None` uses the system's limit.
    pub connect_timeout: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            idle_timeout: Some(Duration::from_secs(90)),
            connect_timeout: Some(Duration::from_secs(10)),
        }
    }
}

impl RetryPolicy {
    /// The policy a provider's configuration asks for (0 seconds means no timeout).
    pub fn from_provider(provider: &ProviderConfig) -> Self {
        let secs = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        Self {
            max_retries: provider.max_retries,
            idle_timeout: secs(provider.idle_timeout_secs),
            connect_timeout: secs(provider.connect_timeout_secs),
            ..Self::default()
        }
    }

    /// The wait after failed attempt `attempt` (1-based): the server's `Retry-After` when given
    /// (capped at [`RetryPolicy::max_retry_after`]), else the jittered backoff step.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>, jitter: &mut Jitter) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_retry_after);
        }
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        let step = self.base_delay.checked_mul(factor).unwrap_or(self.max_delay).min(self.max_delay);
        let half = step / 2;
        half + half.mul_f64(jitter.fraction())
    }
}

/// A small xorshift generator for backoff jitter, seeded from the process's random hasher keys.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    /// A generator with a random seed.
    pub fn new() -> Self {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(0x9E37_79B9_7F4A_7C15);
        Self::seeded(hasher.finish())
    }

    /// A generator with a fixed seed (for tests).
    pub fn seeded(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// A number in `[0, 1)`.
    pub fn fraction(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Default for Jitter {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads a `Retry-After` value: seconds (fractions accepted) or an HTTP date.
pub fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    static PARSER: jiff::fmt::rfc2822::DateTimeParser = jiff::fmt::rfc2822::DateTimeParser::new();
    let at = PARSER.parse_timestamp(value).ok()?;
    let millis = at.as_millisecond().saturating_sub(now.as_millisecond());
    Some(Duration::from_millis(u64::try_from(millis).unwrap_or(0)))
}

/// Reads an OpenAI-style `retry-after-ms` value.
pub fn parse_retry_after_ms(value: &str) -> Option<Duration> {
    let millis = value.trim().parse::<f64>().ok()?;
    Duration::try_from_secs_f64(millis / 1000.0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_bounds_and_caps() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            ..RetryPolicy::default()
        };
        let mut jitter = Jitter::seeded(42);
        for (attempt, step) in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1000), (40, 1000)] {
            for _ in 0..50 {
                let d = policy.delay(attempt, None, &mut jitter).as_millis();
                assert!(d >= step / 2 && d <= step, "attempt {attempt}: {d} ms");
            }
        }
    }

    #[test]
    fn retry_after_wins_but_is_capped() {
        let policy = RetryPolicy { max_retry_after: Duration::from_secs(5), ..RetryPolicy::default() };
        let mut jitter = Jitter::seeded(1);
        let d = policy.delay(1, Some(Duration::from_millis(1500)), &mut jitter);
        assert_eq!(d, Duration::from_millis(1500));
        let d = policy.delay(1, Some(Duration::from_secs(3600)), &mut jitter);
        assert_eq!(d, Duration::from_secs(5));
    }

    #[test]
    fn retry_after_seconds_fractions_and_dates() {
        let now: jiff::Timestamp = "2024-01-10T10:34:40Z".parse().unwrap();
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 0.05 ", now), Some(Duration::from_millis(50)));
        assert_eq!(parse_retry_after("Wed, 10 Jan 2024 10:34:45 GMT", now), Some(Duration::from_secs(5)));
        assert_eq!(parse_retry_after("Wed, 10 Jan 2024 10:34:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after_ms("250"), Some(Duration::from_millis(250)));
    }

    #[test]
    fn provider_config_maps_zero_to_no_timeout() {
        let provider = ProviderConfig {
            idle_timeout_secs: 0,
            connect_timeout_secs: 3,
            max_retries: 2,
            ..ProviderConfig::default()
        };
        let policy = RetryPolicy::from_provider(&provider);
        assert_eq!(policy.idle_timeout, None);
        assert_eq!(policy.connect_timeout, Some(Duration::from_secs(3)));
        assert_eq!(policy.max_retries, 2);
    }
}
