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
    let opaque = policy.judge("echo $(cat ~/.ssh/id_rsa)");
    assert_eq!(opaque.verdict, Verdict::Prompt);
    assert!(opaque.reasons.iter().any(|r| r.contains("command substitution")));
    assert_eq!(policy.judge("").verdict, Verdict::Forbid);
}

#[test]
fn programs_named_by_path_match_their_rules() {
    assert_eq!(policy().judge("/usr/bin/sudo id").verdict, Verdict::Forbid);
}
