//! Reading the files people hand the engine (task files, configuration, policies, playbooks,
//! themes) without letting one hang it or fill its memory, and the size limits of a task's text.
//!
//! A path may name a FIFO (whose `open` blocks until a writer comes), a device (`/dev/zero`
//! never ends) or a socket: the file is opened without blocking, checked with `fstat` on the open
//! descriptor (so it cannot be swapped after the check), and read only up to its cap.

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The largest task file, configuration file, policy or playbook read.
pub const MAX_INPUT_FILE_BYTES: u64 = 1024 * 1024;
/// The longest task title, in characters.
pub const MAX_TITLE_CHARS: usize = 500;
/// The most text a task's fields may hold together, in bytes.
pub const MAX_SPEC_BYTES: usize = 512 * 1024;

/// What kind of file a metadata names, for messages.
pub fn kind_of(file_type: std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_block_device() || file_type.is_char_device() {
        "a device"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else {
        "a regular file"
    }
}

/// Reads the regular file at `path`, at most `cap` bytes; anything else is an error that says
/// what the path is and what to do.
pub fn read_regular(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{} is {}, not a regular file; give the path of a file",
                path.display(),
                kind_of(metadata.file_type())
            ),
        ));
    }
    if metadata.len() > cap {
        return Err(too_large(path, cap));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(too_large(path, cap));
    }
    Ok(bytes)
}

/// [`read_regular`] as UTF-8 text (invalid bytes are an error).
pub fn read_regular_text(path: &Path, cap: u64) -> std::io::Result<String> {
    let bytes = read_regular(path, cap)?;
    String::from_utf8(bytes).map_err(|err| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} is not UTF-8 text (invalid byte at offset {}); save it as UTF-8",
                path.display(),
                err.utf8_error().valid_up_to()
            ),
        )
    })
}

fn too_large(path: &Path, cap: u64) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("{} is larger than the {cap}-byte limit for this kind of file; make it smaller", path.display()),
    )
}

/// Why a task's title and text are too long to accept, if they are.
pub fn spec_too_large(title: &str, texts: &[&str]) -> Option<String> {
    let chars = title.chars().count();
    if chars > MAX_TITLE_CHARS {
        return Some(format!(
            "the title is {chars} characters, over the {MAX_TITLE_CHARS}-character limit: say in one line what the task \
             must achieve and put details in the description"
        ));
    }
    let total: usize = title.len() + texts.iter().map(|t| t.len()).sum::<usize>();
    (total > MAX_SPEC_BYTES).then(|| {
        format!(
            "the task's text is {total} bytes, over the {MAX_SPEC_BYTES}-byte limit: link to long material instead of \
             pasting it"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifos_devices_and_directories_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let err = read_regular(&fifo, 10).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        let err = read_regular(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(err.to_string().contains("a device"), "{err}");
        assert!(read_regular(dir.path(), 10).unwrap_err().to_string().contains("directory"));
    }

    #[test]
    fn files_over_the_cap_are_refused_and_under_it_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "12345").unwrap();
        assert_eq!(read_regular_text(&file, 5).unwrap(), "12345");
        assert!(read_regular(&file, 4).unwrap_err().to_string().contains("4-byte limit"));
    }

    #[test]
    fn huge_titles_are_refused() {
        assert!(spec_too_large(&"x".repeat(5_000_000), &[]).is_some());
        assert!(spec_too_large("fine", &[&"y".repeat(MAX_SPEC_BYTES)]).is_some());
        assert!(spec_too_large("fine", &["short"]).is_none());
    }
}
