//! The encoded forms of a known secret, so a secret piped through `base64`, `xxd -p` or a URL
//! encoder is redacted like the plain value.
//!
//! For base64 (standard and URL-safe alphabets) the secret may start at any of the three byte
//! offsets of a 3-byte group, and the bytes around it change the characters at both ends; so for
//! each alignment only the characters that depend on the secret's bytes alone are kept. Those are
//! what appears, unchanged, wherever the secret is encoded inside a longer text. Hex comes in
//! both cases; URL-encoding both with only the reserved bytes escaped and with every byte
//! escaped, in both cases.

/// The standard base64 alphabet.
const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encoded fragments shorter than this are not searched for (too many false positives).
const MIN_FRAGMENT: usize = 8;

/// Every encoded form of `secret`, each with the name of its encoding.
pub(super) fn variants(secret: &str) -> Vec<(&'static str, String)> {
    let bytes = secret.as_bytes();
    let mut out = Vec::new();
    for alignment in 0..3 {
        let stable = base64_stable(bytes, alignment);
        if stable.len() >= MIN_FRAGMENT {
            let url: String = stable
                .chars()
                .map(|c| match c {
                    '+' => '-',
                    '/' => '_',
                    c => c,
                })
                .collect();
            if url != stable {
                out.push(("base64url", url));
            }
            out.push(("base64", stable));
        }
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    out.push(("hex", hex.to_ascii_uppercase()));
    out.push(("hex", hex));
    for upper in [false, true] {
        let reserved = percent_encode(bytes, false, upper);
        if reserved != secret {
            out.push(("url", reserved));
        }
        out.push(("url", percent_encode(bytes, true, upper)));
    }
    out.sort();
    out.dedup();
    out
}

/// The base64 characters of `bytes` placed `alignment` bytes into a 3-byte group that depend
/// on `bytes` alone.
fn base64_stable(bytes: &[u8], alignment: usize) -> String {
    let mut padded = vec![0u8; alignment];
    padded.extend_from_slice(bytes);
    let encoded = encode(&padded);
    let bits_before = 8 * alignment;
    let bits_end = 8 * (alignment + bytes.len());
    // Character i covers bits [6i, 6i + 6).
    let first = bits_before.div_ceil(6);
    let last = bits_end / 6;
    encoded.get(first..last).unwrap_or_default().to_owned()
}

/// Standard base64 without padding.
fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(char::from(STANDARD[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn percent_encode(bytes: &[u8], every_byte: bool, upper: bool) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        let unreserved = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~');
        if unreserved && !every_byte {
            out.push(char::from(b));
        } else if upper {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

/// A line of an encoding's alphabet (the last line of a wrapped run may be short).
fn is_encoded_line(line: &str) -> bool {
    line.len() >= 2 && line.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'))
}

/// Where the run of encoded-looking lines that ends `text` (which ends with a newline) starts.
pub(super) fn trailing_run_start(text: &str) -> Option<usize> {
    let mut start = None;
    let body = text.strip_suffix('\n')?;
    let mut rest = body;
    loop {
        let line_start = rest.rfind('\n').map_or(0, |n| n + 1);
        let line = rest[line_start..].trim_end_matches('\r');
        if !is_encoded_line(line) {
            break;
        }
        start = Some(line_start);
        if line_start == 0 {
            break;
        }
        rest = &rest[..line_start - 1];
    }
    start
}

/// Runs of two or more wrapped lines of one encoding's alphabet (what `base64` and `xxd -p`
/// print), as byte ranges of `text` with their joined content.
pub(super) fn wrapped_blocks(text: &str) -> Vec<(usize, usize, String)> {
    let mut blocks = Vec::new();
    let mut start: Option<(usize, usize)> = None; // (byte start, line count)
    let mut joined = String::new();
    let mut offset = 0;
    let mut end = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        // A run starts with a line at least as wide as the narrowest wrapping in use.
        let continues = start.is_some() && is_encoded_line(content);
        if continues || (content.len() >= 16 && is_encoded_line(content)) {
            match &mut start {
                Some((_, count)) => *count += 1,
                None => start = Some((offset, 1)),
            }
            joined.push_str(content);
            end = offset + content.len();
        } else {
            if let Some((from, count)) = start.take()
                && count > 1
            {
                blocks.push((from, end, std::mem::take(&mut joined)));
            }
            joined.clear();
        }
        offset += line.len();
    }
    if let Some((from, count)) = start
        && count > 1
    {
        blocks.push((from, end, joined));
    }
    blocks
}
