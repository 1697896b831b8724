//! Where the panes go. Wide terminals show the queue and both streams side by side above the
//! tabbed lower area; small ones (80×24) keep the queue on top and collapse the streams into the
//! tabs below it. Both render and the mouse handling ask this module, so they always agree. A
//! banner row under the title appears while the engine says no task can run.

use ratatui::layout::{Constraint, Layout, Rect};

/// The smallest terminal that gets the wide layout.
const WIDE: (u16, u16) = (120, 32);

/// The areas of one screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    /// The title bar.
    pub title: Rect,
    /// The banner row under it, when there is a banner.
    pub banner: Option<Rect>,
    /// The task queue.
    pub queue: Rect,
    /// The Right Hand stream (wide layout only).
    pub right: Option<Rect>,
    /// The Left Hand stream (wide layout only).
    pub left: Option<Rect>,
    /// The tabbed area: its tab bar row and its body.
    pub tabs: Rect,
    /// The body under the tab bar.
    pub body: Rect,
    /// The key hints.
    pub footer: Rect,
}

/// Whether a terminal of `size` gets the compact layout.
pub fn is_compact(size: (u16, u16)) -> bool {
    size.0 < WIDE.0 || size.1 < WIDE.1
}

/// The areas for a screen of `area`, with `tasks` tasks in the queue and, when `banner`, a
/// banner row under the title.
pub fn areas(area: Rect, tasks: usize, banner: bool) -> Areas {
    let compact = is_compact((area.width, area.height));
    let [title, main, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    let (banner, main) = if banner {
        let [banner, rest] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(main);
        (Some(banner), rest)
    } else {
        (None, main)
    };
    if compact {
        let queue_height = (tasks as u16 + 3).clamp(4, (main.height / 3).max(4));
        let [queue, lower] = Layout::vertical([Constraint::Length(queue_height), Constraint::Fill(1)]).areas(main);
        let [tabs, body] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(lower);
        Areas { title, banner, queue, right: None, left: None, tabs, body, footer }
    } else {
        let [top, lower] = Layout::vertical([Constraint::Percentage(45), Constraint::Fill(1)]).areas(main);
        let [queue, right, left] =
            Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(30), Constraint::Fill(1)])
                .areas(top);
        let [tabs, body] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(lower);
        Areas { title, banner, queue, right: Some(right), left: Some(left), tabs, body, footer }
    }
}

/// Rows of diff text visible in the lower body (borders excluded), for a terminal of `size`
/// (with a banner row or not).
pub fn diff_viewport(size: (u16, u16), banner: bool) -> u16 {
    let areas = areas(Rect::new(0, 0, size.0, size.1), 8, banner);
    areas.body.height.saturating_sub(2).max(1)
}

/// The inside (borders excluded) of the lower body, for a terminal of `size` with `tasks` tasks
/// in the queue (and a banner row or not): what a tab draws in.
pub fn body_inner(size: (u16, u16), tasks: usize, banner: bool) -> Rect {
    let body = areas(Rect::new(0, 0, size.0, size.1), tasks, banner).body;
    Rect::new(body.x + 1, body.y + 1, body.width.saturating_sub(2), body.height.saturating_sub(2))
}

/// A rectangle of at most `width`×`height`, centered in `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect::new(area.x + (area.width - width) / 2, area.y + (area.height - height) / 2, width, height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_screens_collapse_the_streams_into_tabs() {
        let small = areas(Rect::new(0, 0, 80, 24), 3, false);
        assert!(small.right.is_none() && small.left.is_none());
        assert_eq!(small.queue.height, 6);
        assert_eq!(small.footer.y, 23);
        let large = areas(Rect::new(0, 0, 200, 60), 3, false);
        let (right, left) = (large.right.unwrap(), large.left.unwrap());
        assert!(large.queue.width > 60 && right.x > large.queue.x && left.x > right.x);
        assert_eq!(large.body.y, large.tabs.y + 1);
        assert_eq!(large.banner, None);
    }

    #[test]
    fn a_banner_takes_the_row_under_the_title() {
        for size in [(80, 24), (200, 60)] {
            let with = areas(Rect::new(0, 0, size.0, size.1), 3, true);
            let without = areas(Rect::new(0, 0, size.0, size.1), 3, false);
            assert_eq!(with.banner, Some(Rect::new(0, 1, size.0, 1)));
            assert_eq!(with.queue.y, without.queue.y + 1);
            assert_eq!(with.footer, without.footer);
            assert!(diff_viewport(size, true) <= diff_viewport(size, false), "{size:?}");
        }
    }
}
