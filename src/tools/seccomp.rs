//! The seccomp filter of the Landlock level: what Landlock's rules do not cover.
//!
//! Landlock confines files, TCP ports, signals and abstract Unix sockets; this filter closes the
//! rest of the network and the kernel interfaces a process running as root could otherwise use:
//! - `socket`/`socketpair` only for `AF_UNIX` streams and sequenced packets (no TCP, UDP, raw,
//!   netlink, packet, … and no Unix datagrams, whose `sendto`/`sendmsg` can name any bound
//!   socket; a sequenced-packet socket ignores an address given to `sendmsg`);
//! - `connect`, `bind`, `listen`, `accept`, `accept4`: refused, so the only sockets a command
//!   has are socketpairs it made itself;
//! - `io_uring_*` (which would perform socket calls without passing this filter): refused;
//! - `ptrace`, `process_vm_readv`/`writev`, kernel keyrings, `bpf`, `perf_event_open`, kernel
//!   modules, `kexec`, `reboot`, `swapon`/`swapoff`, `mount`, `unshare`, `setns`: refused.
//!
//! Calls of another architecture's ABI (e.g. i386's `socketcall` through `int 0x80`) fail the
//! filter's architecture check and kill the process.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
};

/// Socket types (`type & 0xf`) that are refused even for `AF_UNIX`: every one but streams and
/// sequenced packets (Rust's process spawning uses a sequenced-packet socketpair).
const REFUSED_SOCKET_TYPES: &[u64] = &[
    libc::SOCK_DGRAM as u64,
    libc::SOCK_RAW as u64,
    libc::SOCK_RDM as u64,
    6,  // SOCK_DCCP
    10, // SOCK_PACKET
];

/// Socket types refused even when the network is allowed (a setup step's dependency fetch):
/// raw packets and the rarer kinds no package manager uses.
const REFUSED_NETWORK_SOCKET_TYPES: &[u64] = &[
    libc::SOCK_RAW as u64,
    libc::SOCK_RDM as u64,
    6,  // SOCK_DCCP
    10, // SOCK_PACKET
];

/// Socket families a command may make when the network is allowed.
const NETWORK_FAMILIES: &[u64] = &[libc::AF_UNIX as u64, libc::AF_INET as u64, libc::AF_INET6 as u64];

/// System calls refused outright (`connect` only while the network is closed).
const REFUSED: &[libc::c_long] = &[
    libc::SYS_bind,
    libc::SYS_listen,
    libc::SYS_accept,
    libc::SYS_accept4,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_kexec_load,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_userfaultfd,
];

/// System calls that answer "not implemented", so programs fall back to something else.
const UNIMPLEMENTED: &[libc::c_long] =
    &[libc::SYS_io_uring_setup, libc::SYS_io_uring_enter, libc::SYS_io_uring_register];

fn condition(arg: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition, String> {
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value).map_err(|err| format!("seccomp condition: {err}"))
}

/// The rules that refuse a socket call unless it makes `AF_UNIX` streams (or, with `network`,
/// IPv4/IPv6 streams and datagrams too): one rule per way to be refused (rules are
/// alternatives; the conditions of one rule all hold).
fn socket_rules(network: bool) -> Result<Vec<SeccompRule>, String> {
    let (families, types) = if network {
        (NETWORK_FAMILIES, REFUSED_NETWORK_SOCKET_TYPES)
    } else {
        (&[libc::AF_UNIX as u64][..], REFUSED_SOCKET_TYPES)
    };
    let other_family =
        families.iter().map(|family| condition(0, SeccompCmpOp::Ne, *family)).collect::<Result<Vec<_>, _>>()?;
    let mut rules = vec![SeccompRule::new(other_family).map_err(|err| format!("seccomp rule: {err}"))?];
    for kind in types {
        rules.push(
            SeccompRule::new(vec![condition(1, SeccompCmpOp::MaskedEq(0xf), *kind)?])
                .map_err(|err| format!("seccomp rule: {err}"))?,
        );
    }
    Ok(rules)
}

/// Compiles the filter for this machine's architecture; `network` lets IPv4/IPv6 sockets connect.
fn program(errno: u32, network: bool) -> Result<BpfProgram, String> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    rules.insert(libc::SYS_socket, socket_rules(network)?);
    rules.insert(libc::SYS_socketpair, socket_rules(false)?);
    for call in REFUSED {
        rules.insert(*call, Vec::new());
    }
    if !network {
        rules.insert(libc::SYS_connect, Vec::new());
    }
    let arch =
        std::env::consts::ARCH.try_into().map_err(|err| format!("seccomp does not support this machine: {err}"))?;
    let filter = SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(errno), arch)
        .map_err(|err| format!("seccomp filter: {err}"))?;
    filter.try_into().map_err(|err: seccompiler::BackendError| format!("seccomp filter: {err}"))
}

fn unimplemented_program() -> Result<BpfProgram, String> {
    let rules: BTreeMap<i64, Vec<SeccompRule>> = UNIMPLEMENTED.iter().map(|call| (*call, Vec::new())).collect();
    let arch =
        std::env::consts::ARCH.try_into().map_err(|err| format!("seccomp does not support this machine: {err}"))?;
    let filter = SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(libc::ENOSYS as u32), arch)
        .map_err(|err| format!("seccomp filter: {err}"))?;
    filter.try_into().map_err(|err: seccompiler::BackendError| format!("seccomp filter: {err}"))
}

/// Installs the filter on this thread (and what it executes); `network` leaves IPv4/IPv6
/// connections open (a setup step's dependency fetch). Needs `no_new_privs` set first
/// (Landlock's `restrict_self` sets it).
pub fn install(network: bool) -> Result<(), String> {
    let refused = program(libc::EPERM as u32, network)?;
    let unimplemented = unimplemented_program()?;
    seccompiler::apply_filter(&refused).map_err(|err| format!("seccomp could not be applied: {err}"))?;
    seccompiler::apply_filter(&unimplemented).map_err(|err| format!("seccomp could not be applied: {err}"))
}

/// Whether the filter compiles here (for `doctor`): the reason when it does not.
pub fn check() -> Result<(), String> {
    program(libc::EPERM as u32, false).and_then(|_| unimplemented_program()).map(|_| ())
}
