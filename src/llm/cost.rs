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
    /// Dollars per million input tokens read from the prompt cache; `None`: the input price.
    pub cached_input_per_mtok: Option<f64>,
    /// What writing a token to the prompt cache costs, as a multiple of the input price
    /// (Anthropic: 1.25; 0 is taken as 1).
    pub cache_write_factor: f64,
}

impl Prices {
    /// The prices configured for a provider: Anthropic's cache reads cost a tenth of its input
    /// price and its cache writes a quarter more, unless configured otherwise.
    pub fn from_provider(provider: &ProviderConfig) -> Self {
        let anthropic = provider.kind == crate::config::ProviderKind::Anthropic;
        let cached = provider.cached_input_price_per_mtok.or(anthropic.then(|| provider.input_price_per_mtok / 10.0));
        Self {
            input_per_mtok: provider.input_price_per_mtok,
            output_per_mtok: provider.output_price_per_mtok,
            cached_input_per_mtok: cached,
            cache_write_factor: if anthropic { 1.25 } else { 1.0 },
        }
    }

    /// Usage of a call whose `input_tokens` include `cache_read` tokens read from the prompt
    /// cache and `cache_written` tokens written to it, each costed at its price.
    pub fn usage_cached(&self, input_tokens: u64, cache_read: u64, cache_written: u64, output_tokens: u64) -> Usage {
        let price = |p: f64| if p.is_finite() && p > 0.0 { p } else { 0.0 };
        let plain = input_tokens.saturating_sub(cache_read).saturating_sub(cache_written);
        let factor = if self.cache_write_factor > 0.0 { self.cache_write_factor } else { 1.0 };
        let micros = plain as f64 * price(self.input_per_mtok)
            + cache_read as f64 * price(self.cached_input_per_mtok.unwrap_or(self.input_per_mtok))
            + cache_written as f64 * price(self.input_per_mtok) * factor
            + output_tokens as f64 * price(self.output_per_mtok);
        Usage { input_tokens, output_tokens, cost_micros: micros.round() as u64 }
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
        let prices = Prices { input_per_mtok: 3.0, output_per_mtok: 15.0, ..Prices::default() };
        assert_eq!(prices.cost_micros(1_000_000, 0), 3_000_000);
        assert_eq!(prices.cost_micros(1000, 200), 3000 + 3000);
        assert_eq!(prices.cost_micros(0, 0), 0);
        let cheap = Prices { input_per_mtok: 0.15, output_per_mtok: 0.6, ..Prices::default() };
        assert_eq!(cheap.cost_micros(10, 3), 3); // 1.5 + 1.8 = 3.3
    }

    #[test]
    fn cached_tokens_cost_their_own_price() {
        let anthropic = Prices {
            input_per_mtok: 3.0,
            output_per_mtok: 15.0,
            cached_input_per_mtok: Some(0.3),
            cache_write_factor: 1.25,
        };
        // 1000 prompt tokens: 800 read from the cache, 100 written to it, 100 plain.
        assert_eq!(anthropic.usage_cached(1000, 800, 100, 10).cost_micros, 300 + 240 + 375 + 150);
        assert_eq!(anthropic.usage_cached(1000, 800, 100, 10).input_tokens, 1000);
        let uncached = Prices { input_per_mtok: 3.0, output_per_mtok: 15.0, ..Prices::default() };
        assert_eq!(uncached.usage_cached(1000, 800, 0, 0).cost_micros, 3000, "no cached price: the input price");
    }

    #[test]
    fn bad_prices_are_free_and_huge_counts_saturate() {
        let bad = Prices { input_per_mtok: -1.0, output_per_mtok: f64::NAN, ..Prices::default() };
        assert_eq!(bad.cost_micros(100, 100), 0);
        let dear = Prices { input_per_mtok: 1e12, output_per_mtok: 0.0, ..Prices::default() };
        assert_eq!(dear.cost_micros(u64::MAX, 0), u64::MAX);
    }
}
