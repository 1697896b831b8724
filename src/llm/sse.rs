//! A server-sent-events parser that takes bytes split anywhere and yields whole events.
//!
//! It follows the WHATWG event-stream rules that matter for model APIs: lines end in LF, CRLF or
//! CR (a CRLF may be split across chunks); `data:` lines of one event are joined with `\n`;
//! lines starting with `:` are comments; one space after the colon is dropped; a blank line
//! dispatches the event. Bytes are buffered until a line is complete, so a chunk boundary inside a
//! multi-byte UTF-8 character is harmless. At the end of the stream a pending event is still
//! dispatched (some servers omit the final blank line).

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field; empty when the event had none.
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// An incremental event-stream parser.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of a line not yet terminated.
    partial: Vec<u8>,
    /// The previous line ended with CR, so a leading LF in the next chunk belongs to it.
    skip_lf: bool,
    /// Whether the first bytes (and a possible byte-order mark) have been seen.
    started: bool,
    event: String,
    data: String,
    has_data: bool,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds a chunk of bytes; complete events are appended to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<SseEvent>) {
        if chunk.is_empty() {
            return;
        }
        if self.partial.is_empty() {
            let rest = self.lines(chunk, out);
            self.partial.extend_from_slice(rest);
        } else {
            let mut pending = std::mem::take(&mut self.partial);
            pending.extend_from_slice(chunk);
            let rest = self.lines(&pending, out).len();
            let consumed = pending.len() - rest;
            pending.drain(..consumed);
            self.partial = pending;
        }
    }

    /// Ends the stream: an unterminated last line and a pending event are still dispatched.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        let partial = std::mem::take(&mut self.partial);
        let partial = self.strip_bom(&partial);
        if !partial.is_empty() {
            self.line(partial, out);
        }
        self.dispatch(out);
        self.skip_lf = false;
        self.started = false;
    }

    /// Waits for more bytes when `bytes` is a strict prefix of a byte-order mark.
    fn strip_bom<'a>(&mut self, bytes: &'a [u8]) -> &'a [u8] {
        if self.started {
            return bytes;
        }
        if bytes.len() < BOM.len() && BOM.starts_with(bytes) {
            return bytes;
        }
        self.started = true;
        bytes.strip_prefix(BOM).unwrap_or(bytes)
    }

    /// Handles every complete line of `bytes` and returns the unterminated rest.
    fn lines<'a>(&mut self, bytes: &'a [u8], out: &mut Vec<SseEvent>) -> &'a [u8] {
        let mut rest = self.strip_bom(bytes);
        if !self.started {
            return rest;
        }
        if self.skip_lf && !rest.is_empty() {
            self.skip_lf = false;
            if let Some(after) = rest.strip_prefix(b"\n") {
                rest = after;
            }
        }
        while let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            let line = &rest[..end];
            let mut next = end + 1;
            if rest[end] == b'\r' {
                match rest.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
            self.line(line, out);
            rest = &rest[next..];
        }
        rest
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line.starts_with(b":") {
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &line[line.len()..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                push_utf8(&mut self.data, value);
                self.has_data = true;
            }
            b"event" => {
                self.event.clear();
                push_utf8(&mut self.event, value);
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        if self.has_data {
            out.push(SseEvent { event: std::mem::take(&mut self.event), data: std::mem::take(&mut self.data) });
        }
        self.event.clear();
        self.has_data = false;
    }
}

fn push_utf8(target: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => target.push_str(text),
        Err(_) => target.push_str(&String::from_utf8_lossy(bytes)),
    }
}

#[cfg(test)]
#[path = "sse_tests.rs"]
mod tests;
