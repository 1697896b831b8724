//! `museum export`'s files: one directory per exhibit (`<id>/exhibit.toml`, and its patches as
//! `tests.patch`, `bug.patch`, `fix.patch`), so a team reviews and commits its bugs like code.

use std::path::Path;

use serde::Serialize;

use ambidex::protocol::Exhibit;

/// The TOML of one exhibit: what a reviewer reads (the patches are files beside it).
#[derive(Serialize)]
struct ExhibitFile<'a> {
    id: String,
    title: &'a str,
    repo: &'a str,
    base: &'a str,
    source: String,
    command: &'a str,
    tests: &'a [String],
    files: &'a [String],
    #[serde(skip_serializing_if = "str::is_empty")]
    root_cause: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    check: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    task: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verified: Option<String>,
}

/// Writes `exhibit` into `dir/<id>/`.
pub(super) fn write(dir: &Path, exhibit: &Exhibit) -> Result<(), String> {
    let own = dir.join(exhibit.id.to_string());
    std::fs::create_dir_all(&own).map_err(|err| format!("cannot create {}: {err}", own.display()))?;
    let file = ExhibitFile {
        id: exhibit.id.to_string(),
        title: &exhibit.title,
        repo: &exhibit.repo,
        base: &exhibit.base,
        source: exhibit.source.label(),
        command: &exhibit.reproducer.command,
        tests: &exhibit.reproducer.tests,
        files: &exhibit.files,
        root_cause: &exhibit.root_cause,
        check: &exhibit.check,
        commit: exhibit.links.commit.as_deref(),
        task: exhibit.links.task.map(|t| t.to_string()),
        verified: exhibit.verification.as_ref().map(|v| {
            format!("{}: {} ({})", v.at, if v.reproduces { "reproduces" } else { "does not reproduce" }, v.detail)
        }),
    };
    let body = toml::to_string_pretty(&file).map_err(|err| err.to_string())?;
    let put = |name: &str, text: &str| {
        let path = own.join(name);
        std::fs::write(&path, text).map_err(|err| format!("cannot write {}: {err}", path.display()))
    };
    put("exhibit.toml", &format!("# A bug museum exhibit, exported by `ambidex museum export`.\n\n{body}"))?;
    for (name, patch) in [
        ("tests.patch", &exhibit.reproducer.tests_patch),
        ("bug.patch", &exhibit.bug_patch),
        ("fix.patch", &exhibit.fix_patch),
    ] {
        if let Some(patch) = patch {
            put(name, patch)?;
        }
    }
    Ok(())
}
