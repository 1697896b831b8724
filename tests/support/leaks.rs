//! The secrets the escape tests plant (in the engine's environment, a fake home and a committed
//! `.env`) and every form they could leak in.

#![allow(dead_code)]

use std::path::Path;

/// A secret in the engine's own environment (its `/proc/<pid>/environ`).
pub const ENGINE_SECRET: &str = "engine-secret-Zq8vW3nR5tY1uI7oP2aS";
/// A secret in a committed `.env`, also known to the redactor.
pub const DOTENV_SECRET: &str = "dotenv-secret-Lk4jH6gF9dS2aQ0wE8rT";
/// A private key in `~/.ssh/id_rsa`.
pub const SSH_SECRET: &str = "sshkey-secret-Mn3bV5cX7zL9kJ1hG4fD";
/// AWS credentials in `~/.aws/credentials`.
pub const AWS_SECRET: &str = "awscred-secret-Pw2oE4iU6yT8rQ0aS3dF";
/// A forge token in `~/.config/gh/hosts.yml`.
pub const GH_SECRET: &str = "ghhosts-secret-Xc5vB7nM9qW1eR3tY6uI";
/// A password in `~/.netrc`.
pub const NETRC_SECRET: &str = "netrc-secret-Hj8kL0zX2cV4bN6mQ9wE";

pub const SECRETS: &[&str] = &[ENGINE_SECRET, DOTENV_SECRET, SSH_SECRET, AWS_SECRET, GH_SECRET, NETRC_SECRET];

/// Plants the home secrets under `home`.
pub fn plant_home(home: &Path) {
    for (path, text) in [
        (
            ".ssh/id_rsa",
            format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{SSH_SECRET}\n-----END OPENSSH PRIVATE KEY-----\n"),
        ),
        (".aws/credentials", format!("[default]\naws_access_key_id = x\naws_secret = {AWS_SECRET}\n")),
        (".config/gh/hosts.yml", format!("github.com:\n  oauth_token: {GH_SECRET}\n")),
        (".netrc", format!("machine example.com login me password {NETRC_SECRET}\n")),
    ] {
        let path = home.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// The forms a secret could leak in: as is, base64 (any alignment: the middle of each) and hex.
pub fn leak_forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_owned(), secret.bytes().map(|b| format!("{b:02x}")).collect()];
    for prefix in ["", "a", "ab"] {
        let out = std::process::Command::new("base64")
            .arg("-w0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = out;
        {
            use std::io::Write;
            out.stdin.take().unwrap().write_all(format!("{prefix}{secret}").as_bytes()).unwrap();
        }
        let encoded = String::from_utf8(out.wait_with_output().unwrap().stdout).unwrap();
        forms.push(encoded[4..encoded.len() - 4].to_owned());
    }
    forms
}
