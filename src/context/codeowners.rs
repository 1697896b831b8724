//! The repository's CODEOWNERS file (GitHub's and GitLab's format): who owns which paths, as
//! globs the memory's scopes understand.

use std::path::Path;

/// Where the file may live, in the order the forges look.
const PLACES: &[&str] = &[".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"];
/// Rules read at most.
const MAX_RULES: usize = 50;

/// One rule: the paths (a glob relative to the root) and their owners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRule {
    /// The rule's pattern as written.
    pub pattern: String,
    /// The same as a glob over paths relative to the root.
    pub glob: String,
    /// The owners (`@user`, `@org/team`, e-mail addresses).
    pub owners: Vec<String>,
}

/// The rules of the first CODEOWNERS file found under `root` (none when there is none). Section
/// headers, comments and rules without owners are skipped.
pub fn codeowners(root: &Path) -> Vec<OwnerRule> {
    let Some(text) = PLACES.iter().find_map(|place| std::fs::read_to_string(root.join(place)).ok()) else {
        return Vec::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with('['))
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let pattern = words.next()?.to_owned();
            let owners: Vec<String> = words.take_while(|w| !w.starts_with('#')).map(str::to_owned).collect();
            (!owners.is_empty()).then(|| OwnerRule { glob: glob_of(&pattern), pattern, owners })
        })
        .take(MAX_RULES)
        .collect()
}

/// A CODEOWNERS pattern (gitignore-like) as a glob over root-relative paths: `/docs/` →
/// `docs/**`, `*.js` → `**/*.js`, `src/app` (a file or a directory) → `{src/app,src/app/**}`.
fn glob_of(pattern: &str) -> String {
    let anchored = pattern.starts_with('/') || pattern.trim_end_matches('/').contains('/');
    let body = pattern.trim_start_matches('/');
    let body = if body.ends_with('/') || body.is_empty() {
        format!("{body}**")
    } else if body.contains(['*', '?', '[']) {
        body.to_owned()
    } else {
        format!("{{{body},{body}/**}}")
    };
    if anchored || body.starts_with("**") { body } else { format!("**/{body}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_become_globs_with_their_owners() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".github")).unwrap();
        std::fs::write(
            dir.path().join(".github/CODEOWNERS"),
            "# owners\n* @org/core\n/docs/ @ada # writers\n*.sql @dba@example.com\n[Section]\nsrc/auth/ @org/security\nsrc/api @api\nlonely\n",
        )
        .unwrap();
        let rules = codeowners(dir.path());
        let globs: Vec<(&str, &str)> = rules.iter().map(|r| (r.pattern.as_str(), r.glob.as_str())).collect();
        assert_eq!(
            globs,
            [
                ("*", "**/*"),
                ("/docs/", "docs/**"),
                ("*.sql", "**/*.sql"),
                ("src/auth/", "src/auth/**"),
                ("src/api", "{src/api,src/api/**}")
            ]
        );
        assert_eq!(rules[1].owners, ["@ada"], "a comment after the owners is not an owner");
        assert!(codeowners(&dir.path().join("nowhere")).is_empty());
    }
}
