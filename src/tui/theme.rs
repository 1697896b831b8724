//! Colors and text styles. Every style the control room uses comes from here, so that no color is
//! written anywhere else.
//!
//! A theme is a TOML file (see `themes/`): a `[palette]` of named colors and `[scopes]` of dotted
//! style names (`ui.border.focus`, `diff.plus`, `eval.best`, `gate.pending`). A scope that is not
//! set falls back along its prefixes (`ui.border.focus` → `ui.border` → `ui`). `inherits` names a
//! theme whose palette and scopes this one extends. The themes in `themes/` are embedded in the
//! binary; the default one, `dark`, uses the 16 ANSI colors only.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::protocol::{Risk, TaskStatus};

/// The themes shipped in the binary: name and TOML text.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
];

/// Every scope the code asks for. A test checks each resolves in every theme, and that the code
/// asks for no other.
pub const SCOPES: &[&str] = &[
    "ui.text",
    "ui.dim",
    "ui.title",
    "ui.header",
    "ui.selected",
    "ui.border",
    "ui.border.focus",
    "ui.tab",
    "ui.tab.active",
    "ui.key",
    "ui.error",
    "ui.info",
    "ui.overlay",
    "ui.overlay.border",
    "ui.form.label",
    "ui.form.focus",
    "ui.bar",
    "status.active",
    "status.waiting",
    "status.done",
    "status.stopped",
    "risk.low",
    "risk.medium",
    "risk.high",
    "risk.critical",
    "stream.agent",
    "stream.partial",
    "stream.tool",
    "stream.tool.ok",
    "stream.tool.failed",
    "stream.output",
    "stream.retry",
    "stream.stage",
    "diff.plus",
    "diff.minus",
    "diff.plus.word",
    "diff.minus.word",
    "diff.context",
    "diff.hunk",
    "diff.file",
    "diff.lineno",
    "syntax.keyword",
    "syntax.string",
    "syntax.comment",
    "syntax.function",
    "syntax.type",
    "syntax.number",
    "syntax.constant",
    "eval.header",
    "eval.best",
    "eval.pass",
    "eval.fail",
    "gate.pending",
    "gate.approved",
    "gate.rejected",
    "gate.option",
    "gate.option.selected",
    "log.seq",
    "log.actor",
    "log.kind",
];

/// A theme that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("theme `{theme}`: {detail}")]
pub struct ThemeError {
    /// The theme's name or path.
    pub theme: String,
    /// What is wrong.
    pub detail: String,
}

/// A style as written in a theme file: a color, or a table.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum StyleSpec {
    Color(String),
    Table {
        #[serde(default)]
        fg: Option<String>,
        #[serde(default)]
        bg: Option<String>,
        #[serde(default)]
        modifiers: Vec<String>,
    },
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    inherits: Option<String>,
    #[serde(default)]
    palette: BTreeMap<String, String>,
    #[serde(default)]
    scopes: BTreeMap<String, StyleSpec>,
}

/// The resolved styles of one theme.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// The theme's name.
    pub name: String,
    styles: HashMap<&'static str, Style>,
    /// The scopes the file (or a theme it inherits) sets, for checks.
    defined: Vec<String>,
}

impl Default for Theme {
    fn default() -> Self {
        // The embedded default parses; a test proves it. Should it ever not, plain text remains.
        Theme::built_in("dark").unwrap_or_else(|_| Theme {
            name: "plain".into(),
            styles: HashMap::new(),
            defined: Vec::new(),
        })
    }
}

impl Theme {
    /// A theme shipped in the binary.
    pub fn built_in(name: &str) -> Result<Theme, ThemeError> {
        let file = load_file(name, None, 0)?;
        resolve(name, file)
    }

    /// A theme by name (`dark`, `light`, `high-contrast`) or by path to a TOML file.
    pub fn load(name_or_path: &str) -> Result<Theme, ThemeError> {
        let file = load_file(name_or_path, None, 0)?;
        resolve(name_or_path, file)
    }

    /// A theme from TOML text; `inherits` may name a built-in theme or a path relative to `dir`.
    pub fn from_toml(label: &str, text: &str, dir: Option<&Path>) -> Result<Theme, ThemeError> {
        let file = parse(label, text, dir, 0)?;
        resolve(label, file)
    }

    /// The style of a scope; see [`SCOPES`].
    pub fn style(&self, scope: &'static str) -> Style {
        self.styles.get(scope).copied().unwrap_or_default()
    }

    /// Whether `scope` (or one of its prefixes) is set by this theme.
    pub fn resolves(&self, scope: &str) -> bool {
        prefixes(scope).any(|prefix| self.defined.iter().any(|d| d == prefix))
    }

    /// The style of a task status.
    pub fn status(&self, status: TaskStatus) -> Style {
        use TaskStatus::*;
        match status {
            Received | Queued | Running => self.style("status.active"),
            NeedsClarification | Escalated | AwaitingGate | Interrupted => self.style("status.waiting"),
            PrReady => self.style("status.done"),
            Rejected | Failed | Cancelled => self.style("status.stopped"),
        }
    }

    /// The style of a risk level.
    pub fn risk(&self, risk: Risk) -> Style {
        match risk {
            Risk::Low => self.style("risk.low"),
            Risk::Medium => self.style("risk.medium"),
            Risk::High => self.style("risk.high"),
            Risk::Critical => self.style("risk.critical"),
        }
    }
}

/// `a.b.c`, `a.b`, `a`.
fn prefixes(scope: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(scope);
    std::iter::from_fn(move || {
        let current = next?;
        next = current.rfind('.').map(|at| &current[..at]);
        Some(current)
    })
}

fn error(theme: &str, detail: impl Into<String>) -> ThemeError {
    ThemeError { theme: theme.to_owned(), detail: detail.into() }
}

fn load_file(name_or_path: &str, dir: Option<&Path>, depth: usize) -> Result<ThemeFile, ThemeError> {
    if depth > 8 {
        return Err(error(name_or_path, "`inherits` goes more than 8 themes deep (a cycle?)"));
    }
    if let Some((_, text)) = BUILT_IN.iter().find(|(name, _)| *name == name_or_path) {
        return parse(name_or_path, text, None, depth);
    }
    let path = match dir {
        Some(dir) if Path::new(name_or_path).is_relative() => dir.join(name_or_path),
        _ => Path::new(name_or_path).to_path_buf(),
    };
    let text = crate::protocol::bounded::read_regular_text(&path, MAX_THEME_BYTES).map_err(|err| {
        let names: Vec<&str> = BUILT_IN.iter().map(|(name, _)| *name).collect();
        error(name_or_path, format!("not a built-in theme ({}) and not a readable file: {err}", names.join(", ")))
    })?;
    parse(name_or_path, &text, path.parent(), depth)
}

/// The largest theme file read.
const MAX_THEME_BYTES: u64 = 256 * 1024;

fn parse(label: &str, text: &str, dir: Option<&Path>, depth: usize) -> Result<ThemeFile, ThemeError> {
    let mut file: ThemeFile = toml::from_str(text).map_err(|err| error(label, err.to_string()))?;
    if let Some(parent) = file.inherits.take() {
        let base = load_file(&parent, dir, depth + 1)?;
        let mut palette = base.palette;
        palette.extend(file.palette);
        let mut scopes = base.scopes;
        scopes.extend(file.scopes);
        file = ThemeFile { name: file.name.or(base.name), inherits: None, palette, scopes };
    }
    Ok(file)
}

fn resolve(label: &str, file: ThemeFile) -> Result<Theme, ThemeError> {
    let mut parsed: HashMap<&str, Style> = HashMap::new();
    for (scope, spec) in &file.scopes {
        parsed.insert(scope.as_str(), style_of(label, scope, spec, &file.palette)?);
    }
    let styles = SCOPES
        .iter()
        .map(|scope| {
            // Broader scopes first, so a specific scope patches what its prefix says.
            let mut style = Style::default();
            let chain: Vec<&str> = prefixes(scope).collect();
            for prefix in chain.iter().rev() {
                if let Some(found) = parsed.get(prefix) {
                    style = style.patch(*found);
                }
            }
            (*scope, style)
        })
        .collect();
    Ok(Theme {
        name: file.name.unwrap_or_else(|| label.to_owned()),
        styles,
        defined: file.scopes.keys().cloned().collect(),
    })
}

fn style_of(
    label: &str,
    scope: &str,
    spec: &StyleSpec,
    palette: &BTreeMap<String, String>,
) -> Result<Style, ThemeError> {
    let color = |name: &str| {
        color_of(name, palette, 0).ok_or_else(|| error(label, format!("scope `{scope}`: unknown color `{name}`")))
    };
    Ok(match spec {
        StyleSpec::Color(name) => Style::default().fg(color(name)?),
        StyleSpec::Table { fg, bg, modifiers } => {
            let mut style = Style::default();
            if let Some(fg) = fg {
                style = style.fg(color(fg)?);
            }
            if let Some(bg) = bg {
                style = style.bg(color(bg)?);
            }
            for modifier in modifiers {
                style = style.add_modifier(modifier_of(modifier).ok_or_else(|| {
                    error(label, format!("scope `{scope}`: unknown modifier `{modifier}` (bold, dim, italic, underlined, reversed, crossed_out)"))
                })?);
            }
            style
        }
    })
}

fn color_of(name: &str, palette: &BTreeMap<String, String>, depth: usize) -> Option<Color> {
    if let Some(value) = palette.get(name)
        && depth < 4
        && value != name
    {
        return color_of(value, palette, depth + 1);
    }
    let lower = name.trim().to_ascii_lowercase().replace(['_', '-', ' '], "");
    Some(match lower.as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        hex if hex.starts_with('#') && hex.len() == 7 => {
            let value = u32::from_str_radix(&hex[1..], 16).ok()?;
            Color::Rgb((value >> 16) as u8, (value >> 8) as u8, value as u8)
        }
        index => Color::Indexed(index.parse().ok()?),
    })
}

fn modifier_of(name: &str) -> Option<Modifier> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" | "underline" => Modifier::UNDERLINED,
        "reversed" | "reverse" => Modifier::REVERSED,
        "crossed_out" | "strikethrough" => Modifier::CROSSED_OUT,
        "slow_blink" | "blink" => Modifier::SLOW_BLINK,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_theme_loads_and_resolves_every_scope() {
        for (name, _) in BUILT_IN {
            let theme = Theme::built_in(name).unwrap();
            for scope in SCOPES {
                assert!(theme.resolves(scope), "theme `{name}` does not resolve `{scope}`");
            }
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("themes");
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let theme = Theme::load(path.to_str().unwrap()).unwrap();
            assert!(SCOPES.iter().all(|s| theme.resolves(s)), "{}", path.display());
            files += 1;
        }
        assert_eq!(files, BUILT_IN.len(), "every file in themes/ is embedded");
    }

    #[test]
    fn the_code_asks_only_for_scopes_that_are_listed() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tui");
        let pattern = regex::Regex::new(r#"style\("([a-z.\-]+)"\)"#).unwrap();
        let mut used = 0;
        let mut sources = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tui.rs")];
        sources.extend(
            std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "rs")),
        );
        for path in sources {
            let text = std::fs::read_to_string(&path).unwrap();
            for capture in pattern.captures_iter(&text) {
                let scope = &capture[1];
                assert!(SCOPES.contains(&scope), "{} uses `{scope}`, which is not in SCOPES", path.display());
                used += 1;
            }
        }
        assert!(used > 50, "the scan found the style calls ({used})");
    }

    #[test]
    fn the_default_theme_uses_ansi_colors_only() {
        let theme = Theme::default();
        assert_eq!(theme.name, "dark");
        for scope in SCOPES {
            let style = theme.style(scope);
            for color in [style.fg, style.bg].into_iter().flatten() {
                assert!(!matches!(color, Color::Rgb(..) | Color::Indexed(_)), "{scope}: {color:?}");
            }
        }
    }

    #[test]
    fn scopes_fall_back_along_prefixes_and_palettes_resolve() {
        let text = r##"
            inherits = "dark"
            [palette]
            accent = "#102030"
            [scopes]
            "diff" = { fg = "accent", modifiers = ["bold"] }
            "diff.plus" = { bg = "3" }
        "##;
        let theme = Theme::from_toml("custom", text, None).unwrap();
        assert_eq!(theme.style("ui.title").fg, Some(Color::Rgb(0x10, 0x20, 0x30)), "inherited scope, new palette");
        let plus = theme.style("diff.plus");
        assert_eq!(plus.bg, Some(Color::Indexed(3)));
        assert!(plus.add_modifier.contains(Modifier::BOLD), "the prefix's modifiers remain");
        assert_eq!(plus.fg, Some(Color::Rgb(0x10, 0x20, 0x30)), "the child's diff.plus replaces dark's whole");
        let err = Theme::from_toml("bad", "[scopes]\n\"ui\" = \"chartreuse\"\n", None).unwrap_err();
        assert!(err.to_string().contains("unknown color `chartreuse`"), "{err}");
        let err = Theme::load("no-such-theme").unwrap_err();
        assert!(err.to_string().contains("dark, light, high-contrast"), "{err}");
    }
}
