//! Keys to actions. Every binding has a default; `[tui.keymap]` in the configuration replaces the
//! keys of an action (`approve = "y"`, `down = "j down"`: alternatives separated by spaces).
//! The help overlay and the footer are generated from the keymap, so they never disagree with it.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The panes.
    Normal,
    /// The approval overlay.
    Approval,
    /// The new-task form.
    Form,
}

impl Mode {
    fn title(self) -> &'static str {
        match self {
            Mode::Normal => "Panes",
            Mode::Approval => "Approval overlay",
            Mode::Form => "New task form",
        }
    }
}

macro_rules! actions {
    ($($variant:ident = $name:literal, $mode:ident, $keys:literal, $help:literal;)+) => {
        /// Something the user can do with a key.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $(#[doc = $help] $variant),+
        }

        impl Action {
            /// Every action, in help order.
            pub const ALL: &'static [Action] = &[$(Action::$variant),+];

            /// The name used in `[tui.keymap]`.
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name),+ }
            }

            /// Where it applies.
            pub fn mode(self) -> Mode {
                match self { $(Action::$variant => Mode::$mode),+ }
            }

            /// Its default keys.
            pub fn default_keys(self) -> &'static str {
                match self { $(Action::$variant => $keys),+ }
            }

            /// What it does, for the help overlay.
            pub fn help(self) -> &'static str {
                match self { $(Action::$variant => $help),+ }
            }
        }
    };
}

actions! {
    Quit = "quit", Normal, "q ctrl-c", "quit (asks first while tasks run)";
    Help = "help", Normal, "?", "show this help";
    FocusNext = "focus_next", Normal, "tab", "focus the next pane";
    FocusPrev = "focus_prev", Normal, "shift-tab", "focus the previous pane";
    Up = "up", Normal, "k up", "move up";
    Down = "down", Normal, "j down", "move down";
    Left = "left", Normal, "h left", "move left / previous candidate column";
    Right = "right", Normal, "l right", "move right / next candidate column";
    PageUp = "page_up", Normal, "pageup ctrl-u", "page up";
    PageDown = "page_down", Normal, "pagedown ctrl-d", "page down";
    Top = "top", Normal, "g home", "go to the top";
    Bottom = "bottom", Normal, "G end", "go to the bottom (and follow)";
    Select = "select", Normal, "enter", "open: a gate, a cell's evidence, a tool output, an exhibit's task";
    NewTask = "new_task", Normal, "n", "new task";
    EditTask = "edit_task", Normal, "e", "revise the selected task (answer intake's questions)";
    CancelTask = "cancel_task", Normal, "x", "cancel the selected task";
    ResumeTask = "resume_task", Normal, "r", "resume an interrupted or failed task";
    CleanTask = "clean_task", Normal, "X", "remove a finished task's worktrees (its branches stay)";
    Message = "message", Normal, "m", "message the selected task's agents";
    RewindTask = "rewind_task", Normal, "w", "rewind the selected task to a stage (the work since is kept)";
    Gates = "gates", Normal, "o", "open the approval overlay";
    NextTab = "next_tab", Normal, "t", "next tab";
    PrevTab = "prev_tab", Normal, "T", "previous tab";
    TabDiff = "tab_diff", Normal, "1", "Diff tab";
    TabCompare = "tab_compare", Normal, "2", "Compare tab";
    TabEvidence = "tab_evidence", Normal, "3", "Evidence tab";
    TabGates = "tab_gates", Normal, "4", "Gates tab";
    TabLog = "tab_log", Normal, "5", "Log tab";
    TabMemory = "tab_memory", Normal, "6", "Memory tab";
    TabMetrics = "tab_metrics", Normal, "7", "Metrics tab";
    TabMuseum = "tab_museum", Normal, "8", "Museum tab";
    TabPlaybooks = "tab_playbooks", Normal, "9", "Playbooks tab";
    NextHunk = "next_hunk", Normal, "]", "diff: next hunk";
    PrevHunk = "prev_hunk", Normal, "[", "diff: previous hunk";
    NextFile = "next_file", Normal, "}", "diff: next file";
    PrevFile = "prev_file", Normal, "{", "diff: previous file";
    Candidate = "candidate", Normal, "c", "diff/compare: next candidate";
    BaseCandidate = "base_candidate", Normal, "b", "compare: next candidate on the left";
    Filter = "filter", Normal, "/", "log: filter";
    Refresh = "refresh", Normal, "R", "reload the selected task's events and diffs, or the tab's data";
    MemoryAccept = "memory_accept", Normal, "+", "memory, museum: accept (keep) the selected proposal";
    MemoryReject = "memory_reject", Normal, "-", "memory, museum: reject the selected proposal";
    Promote = "promote", Normal, "P", "playbooks: promote the selected proposal (after its evidence)";
    Approve = "approve", Approval, "y", "approve";
    SendBack = "send_back", Approval, "n", "send back with a note: the stage that made it does it again";
    Stop = "stop", Approval, "s", "stop the task (it runs again only when resumed)";
    ApproveForTask = "approve_for_task", Approval, "a", "approve, and the rest of this task's gates of this kind";
    Note = "note", Approval, "e", "add a note to the decision";
    FullDiff = "full_diff", Approval, "d", "open the full diff";
    NextOption = "next_option", Approval, "right l", "next option (promotion; 1-9 pick one)";
    PrevOption = "prev_option", Approval, "left h", "previous option (promotion; 1-9 pick one)";
    GateDown = "gate_down", Approval, "down j", "scroll the gate's reason and evidence down";
    GateUp = "gate_up", Approval, "up k", "scroll the gate's reason and evidence up";
    GatePageDown = "gate_page_down", Approval, "pagedown ctrl-d", "page the gate's reason and evidence down";
    GatePageUp = "gate_page_up", Approval, "pageup ctrl-u", "page the gate's reason and evidence up";
    Later = "later", Approval, "esc", "decide later (the gate stays open)";
    Submit = "submit", Form, "ctrl-s", "submit the task";
    NextField = "next_field", Form, "tab", "next field";
    PrevField = "prev_field", Form, "shift-tab", "previous field";
    Close = "close", Form, "esc", "close the form";
}

/// A key with its modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    /// The key.
    pub code: KeyCode,
    /// Ctrl and Alt (Shift is folded into the character).
    pub modifiers: KeyModifiers,
}

impl Key {
    /// The key of a terminal event, normalized so that `G` and `shift-g` are the same.
    pub fn of(event: &KeyEvent) -> Key {
        let mut modifiers = event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        let code = match event.code {
            KeyCode::Char(c) if modifiers.contains(KeyModifiers::CONTROL) => KeyCode::Char(c.to_ascii_lowercase()),
            KeyCode::BackTab => {
                modifiers |= KeyModifiers::SHIFT;
                KeyCode::Tab
            }
            other => other,
        };
        Key { code, modifiers }
    }

    /// Parses `j`, `G`, `ctrl-s`, `shift-tab`, `enter`, `pagedown`, `f1`, `space`, …
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text.trim();
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(tail) = lower.strip_prefix("ctrl-").or_else(|| lower.strip_prefix("c-")) {
                modifiers |= KeyModifiers::CONTROL;
                rest = &rest[rest.len() - tail.len()..];
            } else if let Some(tail) = lower.strip_prefix("alt-").or_else(|| lower.strip_prefix("m-")) {
                modifiers |= KeyModifiers::ALT;
                rest = &rest[rest.len() - tail.len()..];
            } else if let Some(tail) = lower.strip_prefix("shift-") {
                modifiers |= KeyModifiers::SHIFT;
                rest = &rest[rest.len() - tail.len()..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backspace" => KeyCode::Backspace,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pageup" | "pgup" => KeyCode::PageUp,
            "pagedown" | "pgdn" => KeyCode::PageDown,
            "delete" | "del" => KeyCode::Delete,
            "insert" => KeyCode::Insert,
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().map_err(|_| format!("bad key `{text}`"))?)
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => {
                        let c = if modifiers.contains(KeyModifiers::CONTROL) { c.to_ascii_lowercase() } else { c };
                        if modifiers.contains(KeyModifiers::SHIFT) && c.is_ascii_alphabetic() {
                            modifiers.remove(KeyModifiers::SHIFT);
                            KeyCode::Char(c.to_ascii_uppercase())
                        } else {
                            KeyCode::Char(c)
                        }
                    }
                    _ => {
                        return Err(format!(
                            "unknown key `{text}` (e.g. `j`, `G`, `ctrl-s`, `shift-tab`, `enter`, `f1`)"
                        ));
                    }
                }
            }
        };
        if code != KeyCode::Tab {
            modifiers.remove(KeyModifiers::SHIFT);
        }
        Ok(Key { code, modifiers })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// The bindings in force.
#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    bindings: BTreeMap<Action, Vec<Key>>,
}

impl Default for Keymap {
    fn default() -> Self {
        let bindings = Action::ALL
            .iter()
            .map(|action| {
                let keys = action.default_keys().split_whitespace().filter_map(|k| Key::parse(k).ok()).collect();
                (*action, keys)
            })
            .collect();
        Keymap { bindings }
    }
}

impl Keymap {
    /// The defaults with `overrides` (action name → keys separated by spaces) applied.
    pub fn with_overrides(overrides: &BTreeMap<String, String>) -> Result<Keymap, String> {
        let mut keymap = Keymap::default();
        for (name, keys) in overrides {
            let action = Action::ALL.iter().copied().find(|a| a.name() == name).ok_or_else(|| {
                format!("tui.keymap: unknown action `{name}` (see `?` in the control room for the list)")
            })?;
            let parsed: Vec<Key> = keys
                .split_whitespace()
                .map(Key::parse)
                .collect::<Result<_, _>>()
                .map_err(|err| format!("tui.keymap.{name}: {err}"))?;
            keymap.bindings.insert(action, parsed);
        }
        Ok(keymap)
    }

    /// The action bound to `key` in `mode`.
    pub fn action(&self, mode: Mode, key: &KeyEvent) -> Option<Action> {
        let key = Key::of(key);
        self.bindings.iter().find(|(action, keys)| action.mode() == mode && keys.contains(&key)).map(|(a, _)| *a)
    }

    /// The first key of an action, for hints (`?` when unbound).
    pub fn key(&self, action: Action) -> String {
        self.bindings.get(&action).and_then(|keys| keys.first()).map_or_else(|| "?".to_owned(), Key::to_string)
    }

    /// Every key of an action, for help.
    pub fn keys(&self, action: Action) -> String {
        match self.bindings.get(&action) {
            Some(keys) if !keys.is_empty() => keys.iter().map(Key::to_string).collect::<Vec<_>>().join(" "),
            _ => "(unbound)".to_owned(),
        }
    }

    /// The help text, one section per mode: `(mode title, [(keys, what it does)])`.
    pub fn help(&self) -> Vec<(&'static str, Vec<(String, &'static str)>)> {
        [Mode::Normal, Mode::Approval, Mode::Form]
            .into_iter()
            .map(|mode| {
                let lines =
                    Action::ALL.iter().filter(|a| a.mode() == mode).map(|a| (self.keys(*a), a.help())).collect();
                (mode.title(), lines)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn defaults_cover_vim_keys_arrows_and_modes() {
        let keymap = Keymap::default();
        assert_eq!(keymap.action(Mode::Normal, &press(KeyCode::Char('j'), KeyModifiers::NONE)), Some(Action::Down));
        assert_eq!(keymap.action(Mode::Normal, &press(KeyCode::Down, KeyModifiers::NONE)), Some(Action::Down));
        assert_eq!(keymap.action(Mode::Normal, &press(KeyCode::Char('G'), KeyModifiers::SHIFT)), Some(Action::Bottom));
        assert_eq!(keymap.action(Mode::Normal, &press(KeyCode::BackTab, KeyModifiers::SHIFT)), Some(Action::FocusPrev));
        assert_eq!(keymap.action(Mode::Normal, &press(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Action::Quit));
        assert_eq!(
            keymap.action(Mode::Approval, &press(KeyCode::Char('n'), KeyModifiers::NONE)),
            Some(Action::SendBack)
        );
        assert_eq!(keymap.action(Mode::Normal, &press(KeyCode::Char('n'), KeyModifiers::NONE)), Some(Action::NewTask));
        assert_eq!(keymap.action(Mode::Form, &press(KeyCode::Char('s'), KeyModifiers::CONTROL)), Some(Action::Submit));
        assert_eq!(keymap.action(Mode::Normal, &press(KeyCode::Char('m'), KeyModifiers::NONE)), Some(Action::Message));
        assert_eq!(
            keymap.action(Mode::Normal, &press(KeyCode::Char('w'), KeyModifiers::NONE)),
            Some(Action::RewindTask)
        );
        for action in Action::ALL {
            assert!(!keymap.keys(*action).contains("unbound"), "{action:?} has a default key");
        }
    }

    #[test]
    fn overrides_replace_keys_and_bad_ones_are_named() {
        let overrides = BTreeMap::from([("approve".to_owned(), "Y ctrl-y".to_owned())]);
        let keymap = Keymap::with_overrides(&overrides).unwrap();
        assert_eq!(keymap.action(Mode::Approval, &press(KeyCode::Char('y'), KeyModifiers::NONE)), None);
        assert_eq!(
            keymap.action(Mode::Approval, &press(KeyCode::Char('Y'), KeyModifiers::SHIFT)),
            Some(Action::Approve)
        );
        assert_eq!(keymap.keys(Action::Approve), "Y ctrl-y");
        let err = Keymap::with_overrides(&BTreeMap::from([("aprove".to_owned(), "y".to_owned())])).unwrap_err();
        assert!(err.contains("unknown action `aprove`"), "{err}");
        let err = Keymap::with_overrides(&BTreeMap::from([("approve".to_owned(), "hyper-q".to_owned())])).unwrap_err();
        assert!(err.contains("tui.keymap.approve"), "{err}");
    }

    #[test]
    fn no_default_key_does_two_things_in_one_mode() {
        let keymap = Keymap::default();
        let mut seen = std::collections::HashMap::new();
        for action in Action::ALL {
            for key in &keymap.bindings[action] {
                if let Some(other) = seen.insert((action.mode(), *key), *action) {
                    panic!("{key} is bound to both {other:?} and {action:?}");
                }
            }
        }
    }

    #[test]
    fn help_lists_every_action_once() {
        let help = Keymap::default().help();
        let count: usize = help.iter().map(|(_, lines)| lines.len()).sum();
        assert_eq!(count, Action::ALL.len());
        assert_eq!(help[1].0, "Approval overlay");
    }
}
