//! Tests of the CI job reader: GitHub workflows, GitLab CI, files on disk.

use super::*;

fn ids(jobs: &[CiJob]) -> Vec<&str> {
    jobs.iter().map(|j| j.id.as_str()).collect()
}

#[test]
fn github_workflow_jobs_and_names() {
    let text = r#"
name: "CI"   # the main workflow
on:
  push:
    branches: [main]
env:
  jobs: not-a-job
jobs:
  # comments are skipped
  build:
    name: Build and test
    runs-on: ubuntu-latest
    steps:
      - name: not the job name
        run: |
          jobs:
            fake: 1
  "lint-check":
    runs-on: ubuntu-latest
  docs: {runs-on: ubuntu-latest}
permissions:
  contents: read
"#;
    assert_eq!(top_level_value(text, "name").as_deref(), Some("CI"));
    let jobs = jobs_under(text, "jobs");
    assert_eq!(ids(&jobs), vec!["build", "lint-check", "docs"]);
    assert_eq!(jobs[0].name.as_deref(), Some("Build and test"));
    assert_eq!(jobs[1].name, None);
}

#[test]
fn gitlab_jobs_skip_reserved_words_and_templates() {
    let text = "stages: [build, test]\nvariables:\n  X: 1\n.template: &t\n  image: rust\nunit-tests:\n  stage: test\n  script: cargo test\nlint:\n  <<: *t\ndefault:\n  image: x\n";
    assert_eq!(ids(&gitlab_jobs(text)), vec!["unit-tests", "lint"]);
}

#[test]
fn ci_files_are_found_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join(".github/workflows")).unwrap();
    std::fs::write(root.join(".github/workflows/ci.yml"), "name: CI\njobs:\n  test:\n    runs-on: x\n").unwrap();
    std::fs::write(root.join(".github/workflows/notes.txt"), "jobs:\n  x: 1\n").unwrap();
    std::fs::write(root.join(".gitlab-ci.yml"), "build:\n  script: make\n").unwrap();
    std::fs::create_dir_all(root.join(".ci")).unwrap();
    std::fs::write(root.join(".ci/run"), "#!/bin/sh\n").unwrap();
    let found = ci_configs(root);
    let files: Vec<&str> = found.iter().map(|c| c.file.as_str()).collect();
    assert_eq!(files, vec![".github/workflows/ci.yml", ".gitlab-ci.yml", ".ci/run"]);
    assert_eq!(ids(&found[0].jobs), vec!["test"]);
    assert_eq!(ids(&found[1].jobs), vec!["build"]);
    assert!(ci_configs(&root.join("absent")).is_empty());
}

#[test]
fn ci_paths_are_the_files_ci_configs_reads_and_their_directories() {
    for path in [
        ".github/workflows/ci.yml",
        "./.github/workflows/",
        ".github",
        ".gitlab-ci.yml",
        ".circleci/config.yml",
        ".travis.yml",
        "azure-pipelines.yml",
        "bitbucket-pipelines.yml",
        "Jenkinsfile",
        "build/Jenkinsfile",
        ".ci/run",
        ".ci",
    ] {
        assert!(is_ci_path(path), "{path}");
    }
    for path in [".github/CODEOWNERS", "src/ci.rs", ".cinema/x", "docs/.travis.yml.md", "tests/ci_test.rs"] {
        assert!(!is_ci_path(path), "{path}");
    }
}
