use super::*;

fn parse_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    for chunk in chunks {
        parser.push(chunk, &mut out);
    }
    parser.finish(&mut out);
    out
}

fn ev(event: &str, data: &str) -> SseEvent {
    SseEvent { event: event.into(), data: data.into() }
}

#[test]
fn plain_events_with_names_and_comments() {
    let got = parse_all(&[b": keep-alive comment\n\nevent: ping\ndata: {}\n\ndata: one\ndata:two\n\n"]);
    assert_eq!(got, vec![ev("ping", "{}"), ev("", "one\ntwo")]);
}

#[test]
fn crlf_and_lone_cr_line_endings_even_when_split() {
    let got = parse_all(&[b"data: a\r", b"\n\r", b"\ndata: b\r\rdata: c\r\n\r\n"]);
    assert_eq!(got, vec![ev("", "a"), ev("", "b"), ev("", "c")]);
}

#[test]
fn bytes_split_inside_a_utf8_character() {
    let text = "data: caf\u{e9} \u{2615}\n\n".as_bytes();
    for cut in 0..text.len() {
        let got = parse_all(&[&text[..cut], &text[cut..]]);
        assert_eq!(got, vec![ev("", "caf\u{e9} \u{2615}")], "cut at {cut}");
    }
}

#[test]
fn one_byte_at_a_time() {
    let text = b"event: message_start\ndata: {\"a\":1}\n\nevent: x\r\ndata: y\r\n\r\n";
    let chunks: Vec<&[u8]> = text.chunks(1).collect();
    assert_eq!(parse_all(&chunks), vec![ev("message_start", "{\"a\":1}"), ev("x", "y")]);
}

#[test]
fn only_one_leading_space_is_dropped_and_fields_without_colon() {
    let got = parse_all(&[b"data:  two spaces\ndata\n\n"]);
    assert_eq!(got, vec![ev("", " two spaces\n")]);
}

#[test]
fn event_without_data_is_not_dispatched_and_name_resets() {
    let got = parse_all(&[b"event: lonely\n\ndata: x\n\n"]);
    assert_eq!(got, vec![ev("", "x")]);
}

#[test]
fn pending_event_is_dispatched_at_end_of_stream() {
    assert_eq!(parse_all(&[b"data: [DONE]"]), vec![ev("", "[DONE]")]);
    assert_eq!(parse_all(&[b"data: [DONE]\n"]), vec![ev("", "[DONE]")]);
}

#[test]
fn byte_order_mark_is_dropped_even_when_split() {
    let got = parse_all(&[b"\xEF", b"\xBB", b"\xBFdata: x\n\n"]);
    assert_eq!(got, vec![ev("", "x")]);
}

#[test]
fn invalid_utf8_is_replaced_not_fatal() {
    let got = parse_all(&[b"data: a\xFFb\n\n"]);
    assert_eq!(got, vec![ev("", "a\u{FFFD}b")]);
}
