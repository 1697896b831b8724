use super::*;

pub(crate) const PATCH: &str = "diff --git a/src/lib.rs b/src/lib.rs
index 1111111..2222222 100644
--- a/src/lib.rs
+++ b/src/lib.rs
@@ -1,4 +1,5 @@ fn top()
 line 1
-line 2
+line 2 changed
+line 2b
 line 3
 line 4
@@ -10,3 +11,2 @@ fn lower()
 line 10
--- a removed line that looks like a header
 line 12
diff --git a/new.txt b/new.txt
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/new.txt
@@ -0,0 +1,2 @@
+hello
+world
\\ No newline at end of file
diff --git a/gone.txt b/gone.txt
deleted file mode 100644
index 4444444..0000000
--- a/gone.txt
+++ /dev/null
@@ -1,1 +0,0 @@
-bye
diff --git a/old name.txt b/new name.txt
similarity index 100%
rename from old name.txt
rename to new name.txt
diff --git a/img.png b/img.png
index 5555555..6666666 100644
Binary files a/img.png and b/img.png differ
";

#[test]
fn files_and_hunks_are_parsed() {
    let files = parse_patch(PATCH);
    let paths: Vec<&str> = files.iter().map(FilePatch::path).collect();
    assert_eq!(paths, ["src/lib.rs", "new.txt", "gone.txt", "new name.txt", "img.png"]);

    let lib = &files[0];
    assert_eq!(lib.old_path.as_deref(), Some("src/lib.rs"));
    assert_eq!(lib.header.len(), 4);
    assert!(!lib.is_structural());
    assert_eq!(lib.hunks.len(), 2);
    assert_eq!(lib.hunks[0].header(), "@@ -1,4 +1,5 @@");
    assert_eq!(lib.hunks[0].section, "fn top()");
    assert_eq!((lib.hunks[0].added(), lib.hunks[0].removed()), (2, 1));
    assert_eq!(lib.hunks[1].lines, [" line 10", "--- a removed line that looks like a header", " line 12"]);
    assert!(lib.hunks[1].matches("@@ -10,3 +11,2 @@ anything"));
    assert!(!lib.hunks[1].matches("@@ -10,3 +11,3 @@"));

    let new = &files[1];
    assert_eq!((new.old_path.as_deref(), new.new_path.as_deref()), (None, Some("new.txt")));
    assert!(new.is_structural());
    assert_eq!(new.hunks[0].lines.last().map(String::as_str), Some("\\ No newline at end of file"));
    assert!(new.hunks[0].matches("@@ -0,0 +1,2 @@"));

    let gone = &files[2];
    assert_eq!((gone.old_path.as_deref(), gone.new_path.as_deref()), (Some("gone.txt"), None));
    assert!(gone.hunks[0].matches("@@ -1 +0,0 @@"));
    assert_eq!(gone.hunks[0].header(), "@@ -1,1 +0,0 @@");

    let renamed = &files[3];
    assert_eq!(renamed.old_path.as_deref(), Some("old name.txt"));
    assert!(renamed.hunks.is_empty() && renamed.is_structural());
    assert!(files[4].binary);

    // Every file's text reproduces the input.
    let text: String = files.iter().map(FilePatch::to_text).collect();
    assert_eq!(text, PATCH);
}

#[test]
fn changed_lines_are_the_new_side_additions() {
    let changed = changed_lines(PATCH);
    assert_eq!(changed.get("src/lib.rs"), Some(&vec![2..=3]));
    assert_eq!(changed.get("new.txt"), Some(&vec![1..=2]));
    assert!(!changed.contains_key("gone.txt"));
    assert!(!changed.contains_key("new name.txt"));

    let spread = "--- a/x\n+++ b/x\n@@ -1,3 +1,5 @@\n+a\n one\n+b\n+c\n two\n@@ -20,2 +22,3 @@\n x\n+y\n z\n";
    assert_eq!(changed_lines(spread).get("x"), Some(&vec![1..=1, 3..=4, 23..=23]));
}

#[test]
fn stats_count_files_and_lines() {
    assert_eq!(diff_stats(PATCH), DiffStats { files: 5, added: 4, removed: 3 });
    assert_eq!(diff_stats(""), DiffStats::default());
    // The shared acceptance tests are left out, so every candidate is measured the same way.
    let shared = ["new.txt".to_owned()];
    assert_eq!(diff_stats_excluding(PATCH, &shared), DiffStats { files: 4, added: 2, removed: 3 });
}

#[test]
fn quoted_paths_are_unquoted() {
    let patch = "diff --git \"a/sp\\303\\251cial.txt\" \"b/sp\\303\\251cial.txt\"\nindex 1..2 100644\n--- \"a/sp\\303\\251cial.txt\"\n+++ \"b/sp\\303\\251cial.txt\"\n@@ -1 +1 @@\n-a\n+b\n";
    let files = parse_patch(patch);
    assert_eq!(files[0].path(), "spécial.txt");
}
