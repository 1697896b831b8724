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
