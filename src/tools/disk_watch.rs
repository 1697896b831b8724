//! A disk bomb stops before the disk is full. No sandbox level limits how much a command writes
//! into its worktree (a per-file size limit does not stop many files), so while a command runs
//! the runner watches the free space of the file systems it can write to (the worktree's and its
//! private temp dir's) and kills it when it has used more than its allowance
//! (`sandbox.max_disk_mb`), when it takes a file system into its reserve (5 % of its size, at
//! least 1 GiB, kept free for everything else), or when it creates more files than any build
//! needs (inode exhaustion). Free space is shared, so what other processes write in the same
//! moment counts too: the allowance is generous and the reserve is what must hold.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Bytes a command may take from a file system while it runs, unless configured.
pub const MAX_DISK_WRITE: u64 = 16 << 30;
/// Files (inodes) a command may create on one file system.
pub const MAX_NEW_FILES: u64 = 2_000_000;
/// What a file system keeps free at least, whatever its size.
const MIN_RESERVE: u64 = 1 << 30;
/// Once a file system is inside its reserve, what a command may still write there.
const SLACK_IN_RESERVE: u64 = 64 << 20;
/// How often free space is read.
const INTERVAL: Duration = Duration::from_millis(50);

/// A file system's free space at one moment.
#[derive(Debug, Clone, Copy)]
struct Free {
    fsid: u64,
    bytes: u64,
    files: u64,
    total: u64,
}

fn free(path: &Path) -> Option<Free> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs fills the zeroed struct it is given from a NUL-terminated path.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    let unit = stat.f_frsize as u64;
    Some(Free {
        fsid: stat.f_fsid as u64,
        bytes: (stat.f_bavail as u64).saturating_mul(unit),
        files: stat.f_favail as u64,
        total: (stat.f_blocks as u64).saturating_mul(unit),
    })
}

/// Why a command was stopped for its disk use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskFilled {
    /// Bytes it took from the file system, as free space measured it.
    pub written: u64,
    /// What was crossed, in words.
    pub reason: String,
}

/// The free space of the file systems a command writes to, as it was when it started.
#[derive(Debug)]
pub struct DiskWatch {
    start: Vec<(PathBuf, Free)>,
    limit: u64,
}

impl DiskWatch {
    /// Starts watching the file systems of `paths` (each once), allowing `limit` bytes.
    pub fn start(paths: &[&Path], limit: u64) -> DiskWatch {
        let mut start: Vec<(PathBuf, Free)> = Vec::new();
        for path in paths {
            if let Some(now) = free(path)
                && !start.iter().any(|(_, seen)| seen.fsid == now.fsid && seen.total == now.total)
            {
                start.push((path.to_path_buf(), now));
            }
        }
        DiskWatch { start, limit }
    }

    /// What the command crossed, if it crossed anything.
    pub fn check(&self) -> Option<DiskFilled> {
        self.start.iter().find_map(|(path, before)| {
            let now = free(path)?;
            Self::judge(before, &now, self.limit, path)
        })
    }

    fn judge(before: &Free, now: &Free, limit: u64, path: &Path) -> Option<DiskFilled> {
        let written = before.bytes.saturating_sub(now.bytes);
        let reserve = MIN_RESERVE.max(now.total / 20);
        let mib = |bytes: u64| bytes >> 20;
        let reason = if written > limit {
            format!(
                "it wrote {} MiB, more than its allowance of {} MiB (sandbox.max_disk_mb)",
                mib(written),
                mib(limit)
            )
        } else if now.bytes < reserve && written > SLACK_IN_RESERVE {
            format!(
                "it wrote {} MiB and left only {} MiB free on the file system of {}, less than its {} MiB reserve",
                mib(written),
                mib(now.bytes),
                path.display(),
                mib(reserve)
            )
        } else if before.files.saturating_sub(now.files) > MAX_NEW_FILES {
            format!("it created more than {MAX_NEW_FILES} files on the file system of {}", path.display())
        } else {
            return None;
        };
        Some(DiskFilled { written, reason })
    }

    /// Resolves when the command crosses a limit (never, when nothing could be measured).
    pub async fn crossed(&self) -> DiskFilled {
        if self.start.is_empty() {
            return std::future::pending().await;
        }
        let mut ticks = tokio::time::interval(INTERVAL);
        loop {
            ticks.tick().await;
            if let Some(filled) = self.check() {
                return filled;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    fn at(bytes: u64, files: u64) -> Free {
        Free { fsid: 1, bytes, files, total: 100 * GIB }
    }

    #[test]
    fn a_command_within_its_allowance_and_above_the_reserve_goes_on() {
        let judged = DiskWatch::judge(&at(50 * GIB, 10_000_000), &at(40 * GIB, 9_000_000), 16 * GIB, Path::new("/w"));
        assert_eq!(judged, None);
    }

    #[test]
    fn writing_past_the_allowance_stops_it() {
        let judged = DiskWatch::judge(&at(50 * GIB, 1000), &at(33 * GIB, 1000), 16 * GIB, Path::new("/w")).unwrap();
        assert!(judged.reason.contains("allowance of 16384 MiB"), "{}", judged.reason);
        assert_eq!(judged.written, 17 * GIB);
    }

    #[test]
    fn taking_the_disk_into_its_reserve_stops_it_even_within_the_allowance() {
        // 5 % of 100 GiB is the reserve; 4 GiB left.
        let judged = DiskWatch::judge(&at(6 * GIB, 1000), &at(4 * GIB, 1000), 16 * GIB, Path::new("/w")).unwrap();
        assert!(judged.reason.contains("reserve"), "{}", judged.reason);
        // Started inside the reserve: a little writing is allowed, not more.
        assert_eq!(
            DiskWatch::judge(&at(4 * GIB, 1000), &at(4 * GIB - (1 << 20), 1000), 16 * GIB, Path::new("/w")),
            None
        );
    }

    #[test]
    fn creating_millions_of_files_stops_it() {
        let judged = DiskWatch::judge(&at(50 * GIB, 5_000_000), &at(49 * GIB, 2_000_000), 16 * GIB, Path::new("/w"));
        assert!(judged.unwrap().reason.contains("files"));
    }

    #[test]
    fn the_watch_reads_a_real_file_system_and_sees_nothing_crossed_at_rest() {
        let dir = tempfile::tempdir().unwrap();
        let watch = DiskWatch::start(&[dir.path(), dir.path()], 16 * GIB);
        assert_eq!(watch.start.len(), 1, "one file system is watched once");
        assert_eq!(watch.check(), None);
    }
}
