use super::*;

fn redactor() -> Redactor {
    Redactor::new([("OPENAI_API_KEY".to_owned(), "plainvalue-that-is-secret-42".to_owned())])
}

fn assert_redacted(input: &str, rule: &str, secret: &str) {
    let out = redactor().redact(input).into_owned();
    assert!(out.contains(&format!("[REDACTED:{rule}]")), "{rule}: {out}");
    assert!(!out.contains(secret), "{rule} leaked: {out}");
}

#[test]
fn exact_known_values_are_replaced_by_their_name() {
    assert_eq!(redactor().redact("key is plainvalue-that-is-secret-42, ok"), "key is [REDACTED:OPENAI_API_KEY], ok");
}

#[test]
fn one_fixture_per_pattern() {
    assert_redacted("id AKIAIOSFODNN7EXAMPLE here", "aws_access_key", "AKIAIOSFODNN7EXAMPLE");
    assert_redacted(
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "aws_secret_key",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    );
    assert_redacted("token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "github_token", "ghp_abcdefghij");
    assert_redacted("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "github_token", "github_pat_11");
    assert_redacted("sk-proj-abcdefghijklmnopqrstuvwxyz012345", "openai_key", "sk-proj-abcdef");
    assert_redacted("sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "anthropic_key", "sk-ant-api03");
    assert_redacted("xoxb-1234567890-abcdefghij", "slack_token", "xoxb-1234567890");
    assert_redacted("sk_live_abcdefghijklmnop1234", "stripe_key", "sk_live_abcdef");
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----";
    assert_redacted(&format!("key:\n{pem}\nafter"), "pem_private_key", "MIIEpAIBAAKCAQEA");
    assert_redacted(
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "jwt",
        "dozjgNryP4J3",
    );
    assert_redacted("DB_PASSWORD=Zq8#rT!2vL9x", "generic_secret", "Zq8#rT!2vL9x");
    assert_redacted("\"client_secret\": \"a8Fk29dLqP0zXv7w\"", "generic_secret", "a8Fk29dLqP0zXv7w");
}

#[test]
fn ordinary_text_is_left_alone() {
    let r = redactor();
    for text in [
        "commit 3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39",
        "id 123e4567-e89b-12d3-a456-426614174000",
        "data: dGhpcyBpcyBhIGxvbmcgYmFzZTY0IHRlc3Qgc3RyaW5nIHdpdGggbm8gc2VjcmV0cw==",
        "max_tokens = 4096",
        "let token = read_token(path);",
        "password = hunter22",
        "the secret of good code is tests",
        "sk-short",
    ] {
        assert_eq!(r.redact(text), text, "false positive");
    }
}

#[test]
fn secret_names_are_recognised() {
    for name in ["OPENAI_API_KEY", "GITHUB_TOKEN", "AWS_SECRET", "DB_PASSWORD", "my_password_file"] {
        assert!(is_secret_name(name), "{name}");
    }
    for name in ["PATH", "HOME", "KEYBOARD", "TOKENIZER"] {
        assert!(!is_secret_name(name), "{name}");
    }
}

#[test]
fn streams_never_leak_a_secret_split_across_chunks() {
    let r = redactor();
    let text = "line one\nusing plainvalue-that-is-secret-42 and ghp_abcdefghijklmnopqrstuvwxyz0123456789 é\n\
                -----BEGIN PRIVATE KEY-----\nAAAABBBBCCCC\n-----END PRIVATE KEY-----\ndone";
    let whole = r.redact(text).into_owned();
    for size in 1..=17 {
        let mut stream = r.stream();
        let mut out = String::new();
        let chars: Vec<char> = text.chars().collect();
        for chunk in chars.chunks(size) {
            let piece: String = chunk.iter().collect();
            let released = stream.push(&piece);
            assert!(!released.contains("plainvalue") && !released.contains("AAAABBBB"), "size {size}: {released}");
            out.push_str(&released);
        }
        out.push_str(&stream.finish());
        assert_eq!(out, whole, "chunk size {size}");
    }
}

#[test]
fn debug_output_never_shows_secrets() {
    assert!(!format!("{:?}", redactor()).contains("plainvalue"));
}

const SECRET: &str = "plainvalue-that-is-secret-42/?&=+ tail!";

fn encoded_redactor() -> Redactor {
    Redactor::new([("FORGE_TOKEN".to_owned(), SECRET.to_owned())])
}

/// Runs a coreutils encoder, an implementation independent of the redactor's.
fn encode_with(program: &str, args: &[&str], input: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
}

/// The longest run of characters of `alphabet` in `text`: what is left of an encoding.
fn longest_run(text: &str, alphabet: impl Fn(char) -> bool) -> usize {
    text.split(|c: char| !alphabet(c)).map(str::len).max().unwrap_or(0)
}

#[test]
fn base64_at_every_alignment_and_wrapped_is_redacted() {
    let b64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_' | '=');
    for prefix in ["", "a", "ab", "abc", "abcd"] {
        for suffix in ["", "\n", "xy"] {
            let input = format!("{prefix}{SECRET}{suffix}");
            for (program, args, encoding) in [
                ("base64", &["-w0"][..], "base64"),
                ("basenc", &["--base64url", "-w0"][..], "base64url"),
                ("base64", &["-w", "16"][..], "base64"),
                ("base64", &[][..], "base64"),
            ] {
                let encoded = encode_with(program, args, input.as_bytes());
                let out = encoded_redactor().redact(&encoded).into_owned();
                assert!(out.contains("[REDACTED:FORGE_TOKEN"), "{program} {args:?} of {input:?}: {out}");
                // What is left is at most the encoding of the prefix or suffix and a boundary.
                let left = longest_run(&out.replace("[REDACTED:FORGE_TOKEN/", "").replace(encoding, ""), b64);
                assert!(left <= 12, "{program} {args:?} of {input:?} left {left} characters: {out}");
            }
        }
    }
}

#[test]
fn hex_and_url_encodings_are_redacted() {
    let hex = encode_with("xxd", &["-p"], SECRET.as_bytes());
    let out = encoded_redactor().redact(&hex).into_owned();
    assert!(out.contains("[REDACTED:FORGE_TOKEN/hex]"), "{out}");
    assert!(longest_run(&out.replace("hex", ""), |c| c.is_ascii_hexdigit()) <= 4, "{out}");
    let upper: String = SECRET.bytes().map(|b| format!("{b:02X}")).collect();
    assert!(encoded_redactor().redact(&format!("x={upper};")).contains("FORGE_TOKEN/hex"));
    let url = encode_with(
        "python3",
        &["-c", "import sys,urllib.parse;print(urllib.parse.quote(sys.stdin.read(), safe=''))"],
        SECRET.as_bytes(),
    );
    let out = encoded_redactor().redact(&format!("GET /?t={}", url.trim())).into_owned();
    assert!(out.contains("[REDACTED:FORGE_TOKEN/url]"), "{out}");
    let every: String = SECRET.bytes().map(|b| format!("%{b:02x}")).collect();
    assert!(encoded_redactor().redact(&every).contains("FORGE_TOKEN/url"));
}

#[test]
fn streams_hold_wrapped_encodings_until_the_run_ends() {
    let r = encoded_redactor();
    let encoded = encode_with("base64", &["-w", "20"], format!("ab{SECRET}").as_bytes());
    let text = format!("before\n{encoded}after\n");
    let whole = r.redact(&text).into_owned();
    assert!(whole.contains("REDACTED"), "{whole}");
    for size in [1, 7, 21, 64] {
        let mut stream = r.stream();
        let mut out = String::new();
        for chunk in text.as_bytes().chunks(size) {
            out.push_str(&stream.push(std::str::from_utf8(chunk).unwrap()));
        }
        out.push_str(&stream.finish());
        assert_eq!(out, whole, "chunk size {size}");
    }
}

#[test]
fn plain_base64_text_without_secrets_is_untouched() {
    let text = encode_with("base64", &[], &[7u8; 300]);
    assert_eq!(encoded_redactor().redact(&text), text);
}
