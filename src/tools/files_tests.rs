use super::*;

fn workspace() -> (tempfile::TempDir, Confined) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lib.rs"), "fn a() {}\nfn b() {}\nfn a() {}\n").unwrap();
    let confined = Confined::new(dir.path()).unwrap();
    (dir, confined)
}

#[test]
fn read_file_numbers_lines_and_says_how_to_continue() {
    let (dir, c) = workspace();
    let text: String = (1..=30).map(|i| format!("line {i}\n")).collect();
    std::fs::write(dir.path().join("long.txt"), text).unwrap();
    let out = read_file(&c, "long.txt", Some(10), Some(5));
    assert!(out.ok);
    assert!(out.text.starts_with("10│line 10\n11│line 11\n"), "{}", out.text);
    assert!(out.text.contains("showing lines 10-14 of 30; call read_file with start_line=15"), "{}", out.text);
    assert!(read_file(&c, "long.txt", Some(31), None).text.contains("has 30 lines"));
}

#[test]
fn empty_missing_binary_and_directory_files_say_so() {
    let (dir, c) = workspace();
    std::fs::write(dir.path().join("empty.txt"), "").unwrap();
    std::fs::write(dir.path().join("blob.bin"), [0u8, 1, 2, 3]).unwrap();
    assert_eq!(read_file(&c, "empty.txt", None, None).text, "`empty.txt` is empty (0 lines)");
    assert!(read_file(&c, "nope.rs", None, None).text.contains("does not exist"));
    assert!(read_file(&c, "blob.bin", None, None).text.contains("binary file (4 bytes)"));
    assert!(read_file(&c, ".", None, None).text.contains("is a directory"));
}

#[test]
fn write_file_creates_parents_and_reports_the_change() {
    let (dir, c) = workspace();
    let out = write_file(&c, "src/new/mod_a.rs", "pub fn x() {}\n");
    assert!(out.ok, "{}", out.text);
    assert_eq!(out.changed_files, ["src/new/mod_a.rs"]);
    assert_eq!(std::fs::read_to_string(dir.path().join("src/new/mod_a.rs")).unwrap(), "pub fn x() {}\n");
    assert!(write_file(&c, "lib.rs", "x").text.starts_with("replaced"));
    let refused = write_file(&c, "../outside.txt", "x");
    assert!(!refused.ok && refused.text.contains("outside the workspace"));
    assert!(!dir.path().parent().unwrap().join("outside.txt").exists());
}

#[test]
fn edit_file_replaces_exactly_one_match_and_explains_the_rest() {
    let (dir, c) = workspace();
    let many = edit_file(&c, "lib.rs", "fn a() {}", "fn c() {}");
    assert!(!many.ok);
    assert_eq!(
        many.text,
        "2 matches in `lib.rs`, at lines 1, 3; include more surrounding text in `old` so it matches once"
    );
    let none = edit_file(&c, "lib.rs", "fn z() {}", "");
    assert!(!none.ok && none.text.starts_with("0 matches"), "{}", none.text);
    let one = edit_file(&c, "lib.rs", "fn b() {}", "fn b() { todo!() }");
    assert!(one.ok, "{}", one.text);
    assert_eq!(one.text, "edited `lib.rs` at line 2: 1 lines replaced by 1");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("lib.rs")).unwrap(),
        "fn a() {}\nfn b() { todo!() }\nfn a() {}\n"
    );
}

fn mkfifo(path: &std::path::Path) {
    let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
}

/// A FIFO with no writer would block `open` for reading (and with no reader, for writing)
/// forever: every file tool must refuse it at once. A hang fails the test by never finishing.
#[test]
fn fifos_and_links_to_devices_are_refused_without_blocking() {
    let (dir, c) = workspace();
    mkfifo(&dir.path().join("pipe"));
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero")).unwrap();
    for path in ["pipe", "zero"] {
        let read = read_file(&c, path, None, None);
        assert!(!read.ok, "{path}: {}", read.text);
        let edit = edit_file(&c, path, "a", "b");
        assert!(!edit.ok, "{path}: {}", edit.text);
    }
    let read = read_file(&c, "pipe", None, None);
    assert!(read.text.contains("FIFO"), "{}", read.text);
    let write = write_file(&c, "pipe", "data");
    assert!(
        !write.ok && write.text.contains("not a regular file") || write.text.contains("cannot write"),
        "{}",
        write.text
    );
}
