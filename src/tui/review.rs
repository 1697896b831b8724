//! What the engineer does with what Ambidex learned: keep (`+`) or reject (`-`) the selected
//! proposal of the Memory or the Museum tab, and, from the Museum tab, go to the task an exhibit
//! came from (`enter`), on the tab that shows why.

use super::app::{AppState, Tab};
use super::keymap::Action;
use crate::protocol::{Command, ExhibitSource, ExhibitStatus, MemoryEdit, MemoryStatus, MuseumEdit};

impl AppState {
    /// Keeps (`accept`) or rejects the selected proposal of the tab in view.
    pub(crate) fn review(&mut self, accept: bool) -> Vec<Command> {
        match self.tab {
            Tab::Memory => self.review_memory(accept),
            Tab::Museum => self.review_exhibit(accept),
            _ => {
                let (memory, museum) = (self.keymap.key(Action::TabMemory), self.keymap.key(Action::TabMuseum));
                self.status =
                    Some((format!("press {memory} (Memory) or {museum} (Museum), then pick a proposal"), true));
                Vec::new()
            }
        }
    }

    fn review_memory(&mut self, accept: bool) -> Vec<Command> {
        let Some(entry) = self.memory.get(self.views.memory) else {
            self.status = Some(("no memory entry is selected".into(), true));
            return Vec::new();
        };
        if entry.status != MemoryStatus::Pending {
            self.status = Some((
                format!("memory {} is {}: only a proposal is accepted or rejected", entry.id.short(), entry.status),
                true,
            ));
            return Vec::new();
        }
        let id = entry.id;
        let edit = if accept { MemoryEdit::Accept { id, text: None } } else { MemoryEdit::Reject { id } };
        let said = if accept { "accepted" } else { "rejected" };
        self.status = Some((format!("memory {} {said}", id.short()), false));
        vec![Command::EditMemory { edit }]
    }

    fn review_exhibit(&mut self, accept: bool) -> Vec<Command> {
        let Some(exhibit) = self.museum.get(self.views.museum) else {
            self.status = Some(("no exhibit is selected".into(), true));
            return Vec::new();
        };
        if exhibit.status != ExhibitStatus::Pending {
            self.status = Some((
                format!(
                    "exhibit {} is {}: only a proposal is kept or rejected (`ambidex museum rm` removes one)",
                    exhibit.id.short(),
                    exhibit.status
                ),
                true,
            ));
            return Vec::new();
        }
        let id = exhibit.id;
        let (edit, said) = if accept {
            (MuseumEdit::Accept { id }, "kept: `ambidex museum verify` checks that it reproduces")
        } else {
            (MuseumEdit::Reject { id }, "rejected: it is not proposed again")
        };
        self.status = Some((format!("exhibit {} {said}", id.short()), false));
        vec![Command::EditMuseum { edit }]
    }

    /// Selects the task the selected exhibit came from and shows the tab that tells why: the
    /// evidence for a candidate's broken tests, the gates for a send-back, the log for a breaker
    /// trip, the diff for a reverted change.
    pub(crate) fn go_to_exhibit_task(&mut self) {
        let Some(exhibit) = self.museum.get(self.views.museum) else {
            return;
        };
        let Some(task) = exhibit.links.task.or_else(|| exhibit.source.task()) else {
            self.status = Some((
                format!(
                    "exhibit {} came from {}, not from a task: `ambidex museum show {}` has the rest",
                    exhibit.id.short(),
                    exhibit.source.label(),
                    exhibit.id.short()
                ),
                false,
            ));
            return;
        };
        let Some(row) = self.tasks.iter().position(|t| t.id == task) else {
            self.status = Some((
                format!(
                    "task {} is not in the list (it holds the newest 200 finished tasks): `ambidex task show {}`",
                    task.short(),
                    task.short()
                ),
                true,
            ));
            return;
        };
        let tab = match exhibit.source {
            ExhibitSource::Candidate { .. } => Tab::Evidence,
            ExhibitSource::SentBack { .. } => Tab::Gates,
            ExhibitSource::Reverted { .. } => Tab::Diff,
            ExhibitSource::Breaker { .. } | ExhibitSource::Human | ExhibitSource::Imported { .. } => Tab::Log,
        };
        self.status = Some((format!("task {}: {}", task.short(), exhibit.source.label()), false));
        self.selected = row;
        self.show(tab);
    }
}
