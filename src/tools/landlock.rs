//! The Landlock level: the `ambidex __sandbox landlock` helper restricts itself (writes only
//! beneath the given directories, no TCP connect or bind, `no_new_privs`) and then executes the
//! command, which inherits the restrictions. Doing this in a fresh process keeps the engine's own
//! threads out of the restriction and avoids non-async-signal-safe work between fork and exec.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus,
    path_beneath_rules,
};

/// Devices every command may write to.
const WRITABLE_DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/ptmx", "/dev/pts"];

/// Restricts this process and replaces it with `argv`. Returns only on failure, with the reason.
pub fn exec_restricted(writable: &[PathBuf], argv: &[String]) -> String {
    let Some((program, args)) = argv.split_first() else {
        return "no command given".into();
    };
    if let Err(reason) = restrict(writable) {
        return reason;
    }
    let err = std::process::Command::new(program).args(args).exec();
    format!("could not run `{program}`: {err}")
}

fn restrict(writable: &[PathBuf]) -> Result<(), String> {
    let abi = ABI::V5;
    let failed = |err: landlock::RulesetError| format!("Landlock could not be applied: {err}");
    let status = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(abi))
        .map_err(failed)?
        .handle_access(AccessNet::ConnectTcp | AccessNet::BindTcp)
        .map_err(failed)?
        .create()
        .map_err(failed)?
        .add_rules(path_beneath_rules(["/"], AccessFs::from_read(abi)))
        .map_err(failed)?
        .add_rules(path_beneath_rules(writable, AccessFs::from_all(abi)))
        .map_err(failed)?
        .add_rules(path_beneath_rules(WRITABLE_DEVICES, AccessFs::from_all(abi)))
        .map_err(failed)?
        .restrict_self()
        .map_err(failed)?;
    if status.ruleset == RulesetStatus::NotEnforced {
        return Err("Landlock is not enforced by this kernel".into());
    }
    Ok(())
}
