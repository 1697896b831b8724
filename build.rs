//! Links the `ambidex` binary with its debug sections compressed: the line tables that keep a
//! release backtrace useful stay, the binary is about half the size, and it starts no slower (it
//! reads them only to print a backtrace).

fn main() {
    println!("cargo:rustc-link-arg-bins=-Wl,--compress-debug-sections=zlib");
    println!("cargo:rerun-if-changed=build.rs");
}
