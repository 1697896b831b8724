//! Property test: every recorded stream, split into chunks at random (seeded, deterministic)
//! positions, decodes to exactly the events it decodes to in one piece.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/fake_model.rs"]
mod fake_model;

use ambidex::llm::{ModelError, ModelEvent, Prices, StreamDecoder, WireFormat};

use fake_model::fixture;

const FIXTURES: &[(&str, WireFormat)] = &[
    ("openai_text.sse", WireFormat::OpenAi),
    ("openai_tools.sse", WireFormat::OpenAi),
    ("openai_error.sse", WireFormat::OpenAi),
    ("openai_malformed.sse", WireFormat::OpenAi),
    ("openai_lenient.sse", WireFormat::OpenAi),
    ("openai_ping.sse", WireFormat::OpenAi),
    ("anthropic_text.sse", WireFormat::Anthropic),
    ("anthropic_tools.sse", WireFormat::Anthropic),
    ("anthropic_error.sse", WireFormat::Anthropic),
    ("anthropic_malformed.sse", WireFormat::Anthropic),
    ("anthropic_ping.sse", WireFormat::Anthropic),
];

const PRICES: Prices =
    Prices { input_per_mtok: 3.0, output_per_mtok: 15.0, cached_input_per_mtok: None, cache_write_factor: 1.0 };

/// xorshift64: small, seeded, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

type Decoded = (Vec<ModelEvent>, Result<(), ModelError>);

fn decode(format: WireFormat, pieces: &[&[u8]]) -> Decoded {
    let mut decoder = StreamDecoder::new(format, PRICES);
    let mut out = Vec::new();
    for piece in pieces {
        if let Err(err) = decoder.push(piece, &mut out) {
            return (out, Err(err));
        }
    }
    let result = decoder.finish(&mut out);
    (out, result)
}

fn split<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut last = 0;
    for &cut in cuts {
        pieces.push(&bytes[last..cut]);
        last = cut;
    }
    pieces.push(&bytes[last..]);
    pieces
}

#[test]
fn random_chunk_splits_give_the_same_events() {
    for (name, format) in FIXTURES {
        let bytes = fixture(name);
        let reference = decode(*format, &[&bytes]);
        assert!(reference.0.iter().any(ModelEvent::is_content), "{name}: the reference decodes to content");
        let mut rng = Rng(0x5EED_0000 + bytes.len() as u64);
        for round in 0..300 {
            let count = 1 + rng.below(48);
            let mut cuts: Vec<usize> = (0..count).map(|_| rng.below(bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let got = decode(*format, &split(&bytes, &cuts));
            assert_eq!(got, reference, "{name}, round {round}, cuts {cuts:?}");
        }
    }
}

#[test]
fn one_byte_at_a_time_gives_the_same_events() {
    for (name, format) in FIXTURES {
        let bytes = fixture(name);
        let reference = decode(*format, &[&bytes]);
        let pieces: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(decode(*format, &pieces), reference, "{name}");
    }
}

#[test]
fn error_fixtures_fail_and_complete_ones_succeed() {
    for (name, format) in FIXTURES {
        let (events, result) = decode(*format, &[&fixture(name)]);
        if name.contains("error") {
            assert!(result.is_err(), "{name}");
        } else {
            assert!(result.is_ok(), "{name}: {result:?}");
            assert!(matches!(events.last(), Some(ModelEvent::Finished(_))), "{name}: {events:?}");
        }
    }
}

#[test]
fn crlf_versions_of_the_fixtures_decode_the_same() {
    for (name, format) in FIXTURES {
        let bytes = fixture(name);
        let text = String::from_utf8(bytes.clone()).expect("utf-8");
        if text.contains('\r') {
            continue;
        }
        let crlf = text.replace('\n', "\r\n");
        let mut rng = Rng(7);
        let reference = decode(*format, &[&bytes]);
        for _ in 0..50 {
            let mut cuts: Vec<usize> = (0..20).map(|_| rng.below(crlf.len() + 1)).collect();
            cuts.sort_unstable();
            assert_eq!(decode(*format, &split(crlf.as_bytes(), &cuts)), reference, "{name}");
        }
    }
}
