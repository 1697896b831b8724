//! SSE parsing and event assembly throughput on long recorded-format streams (goal ≥ 10 MB/s):
//! the parser alone, and the whole decode (parser + chunk assembly + tool-call JSON parsing) for
//! both wire formats, fed in network-sized chunks.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use ambidex::llm::{ModelEvent, Prices, SseParser, StreamDecoder, WireFormat};

/// Bytes per read, like a busy TCP connection delivers them.
const READ: usize = 4096;
/// Text deltas per stream.
const DELTAS: usize = 20_000;

const WORDS: &[&str] = &[
    " the",
    " parser",
    " handles",
    " café",
    " ☕",
    " fn",
    " main()",
    " {",
    "\\n",
    " }",
    " —",
    " 日本語",
    " tests",
    " pass",
];

/// A long OpenAI stream: many text deltas, then two tool calls in small fragments, usage, [DONE].
fn openai_stream() -> Vec<u8> {
    let mut s = String::new();
    let head = r#"{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4.1-2025-04-14","system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":"#;
    for n in 0..DELTAS {
        let word = WORDS[n % WORDS.len()];
        s.push_str(&format!(
            "data: {head}{{\"content\":\"{word}\"}},\"logprobs\":null,\"finish_reason\":null}}],\"usage\":null}}\n\n"
        ));
    }
    for index in 0..2 {
        s.push_str(&format!(
            "data: {head}{{\"tool_calls\":[{{\"index\":{index},\"id\":\"call_{index}\",\"type\":\"function\",\"function\":{{\"name\":\"edit_file\",\"arguments\":\"\"}}}}]}},\"finish_reason\":null}}]}}\n\n"
        ));
        for fragment in ["{\\\"pa", "th\\\": \\\"src/caf", "é.rs\\\", \\\"n", "ew\\\": \\\"☕\\\"}"] {
            s.push_str(&format!(
                "data: {head}{{\"tool_calls\":[{{\"index\":{index},\"function\":{{\"arguments\":\"{fragment}\"}}}}]}},\"finish_reason\":null}}]}}\n\n"
            ));
        }
    }
    s.push_str(&format!("data: {head}{{}},\"finish_reason\":\"tool_calls\"}}]}}\n\n"));
    s.push_str(
        "data: {\"id\":\"x\",\"choices\":[],\"usage\":{\"prompt_tokens\":9000,\"completion_tokens\":20000}}\n\n",
    );
    s.push_str("data: [DONE]\n\n");
    s.into_bytes()
}

/// A long Anthropic stream: many text deltas, pings, then a tool_use block in fragments.
fn anthropic_stream() -> Vec<u8> {
    let mut s = String::from(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\",\"stop_reason\":null,\"usage\":{\"input_tokens\":9000,\"output_tokens\":1}}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    );
    for n in 0..DELTAS {
        let word = WORDS[n % WORDS.len()];
        s.push_str(&format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{word}\"}}}}\n\n"
        ));
        if n % 1000 == 0 {
            s.push_str("event: ping\ndata: {\"type\": \"ping\"}\n\n");
        }
    }
    s.push_str("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n");
    s.push_str("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"edit_file\",\"input\":{}}}\n\n");
    for fragment in ["{\\\"pa", "th\\\": \\\"src/caf", "é.rs\\\", \\\"n", "ew\\\": \\\"☕\\\"}"] {
        s.push_str(&format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{{\"type\":\"input_json_delta\",\"partial_json\":\"{fragment}\"}}}}\n\n"
        ));
    }
    s.push_str("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n");
    s.push_str("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":20000}}\n\n");
    s.push_str("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    s.into_bytes()
}

fn decode(format: WireFormat, bytes: &[u8]) -> usize {
    let mut decoder = StreamDecoder::new(format, Prices::default());
    let mut out = Vec::with_capacity(DELTAS + 8);
    for chunk in bytes.chunks(READ) {
        decoder.push(chunk, &mut out).expect("decodes");
    }
    decoder.finish(&mut out).expect("complete");
    assert!(matches!(out.last(), Some(ModelEvent::Finished(_))));
    out.len()
}

fn sse(c: &mut Criterion) {
    let streams =
        [("openai", WireFormat::OpenAi, openai_stream()), ("anthropic", WireFormat::Anthropic, anthropic_stream())];
    let mut group = c.benchmark_group("sse");
    for (name, format, bytes) in &streams {
        // Sanity: every delta and both kinds of content arrive.
        let events = decode(*format, bytes);
        assert!(events > DELTAS, "{name}: {events} events");
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(format!("parse_only/{name}"), |b| {
            b.iter(|| {
                let mut parser = SseParser::new();
                let mut out = Vec::new();
                let mut count = 0;
                for chunk in bytes.chunks(READ) {
                    parser.push(black_box(chunk), &mut out);
                    count += out.len();
                    out.clear();
                }
                parser.finish(&mut out);
                count + out.len()
            });
        });
        group.bench_function(format!("decode/{name}"), |b| {
            b.iter(|| decode(*format, black_box(bytes)));
        });
    }
    group.finish();
}

criterion_group!(benches, sse);
criterion_main!(benches);
