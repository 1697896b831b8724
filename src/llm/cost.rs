//! Cost of a call from token counts and per-million-token prices, in micro-dollars.

use crate::config::ProviderConfig;

use super::types::Usage;

/// A provider's prices in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Prices {
    /// Dollars per million input tokens.
    pub input_per_mtok: f64,
    /// Dollars per million output tokens.
    pub output_per_mtok: f64,
}

impl Prices {
    /// The prices configured for a provider.
    pub fn from_provider(provider: &ProviderConfig) -> Self {
        Self { input_per_mtok: provider.input_price_per_mtok, output_per_mtok: provider.output_price_per_mtok }
    }

    /// The cost of a call in micro-dollars (rounded to the nearest; negative or non-finite prices
    /// count as free).
    ///
    /// A price of `p` dollars per million tokens is exactly `p` micro-dollars per token.
    pub fn cost_micros(&self, input_tokens: u64, output_tokens: u64) -> u64 {
        let price = |p: f64| if p.is_finite() && p > 0.0 { p } else { 0.0 };
        let micros =
            input_tokens as f64 * price(self.input_per_mtok) + output_tokens as f64 * price(self.output_per_mtok);
        // `as` saturates for floats too large for u64.
        micros.round() as u64
    }

    /// Usage with its cost filled in.
    pub fn usage(&self, input_tokens: u64, output_tokens: u64) -> Usage {
        Usage { input_tokens, output_tokens, cost_micros: self.cost_micros(input_tokens, output_tokens) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_per_million_tokens_are_micro_dollars_per_token() {
        let prices = Prices { input_per_mtok: 3.0, output_per_mtok: 15.0 };
        assert_eq!(prices.cost_micros(1_000_000, 0), 3_000_000);
        assert_eq!(prices.cost_micros(1000, 200), 3000 + 3000);
        assert_eq!(prices.cost_micros(0, 0), 0);
        let cheap = Prices { input_per_mtok: 0.15, output_per_mtok: 0.6 };
        assert_eq!(cheap.cost_micros(10, 3), 3); // 1.5 + 1.8 = 3.3
    }

    #[test]
    fn bad_prices_are_free_and_huge_counts_saturate() {
        let bad = Prices { input_per_mtok: -1.0, output_per_mtok: f64::NAN };
        assert_eq!(bad.cost_micros(100, 100), 0);
        let dear = Prices { input_per_mtok: 1e12, output_per_mtok: 0.0 };
        assert_eq!(dear.cost_micros(u64::MAX, 0), u64::MAX);
    }
}
