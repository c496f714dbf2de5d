//! Builds `bpf/uplane.bpf.c` into `$OUT_DIR/uplane.bpf.o` with clang (`-O2 -g -target bpf`).
//!
//! Needs `clang` and the kernel/libbpf headers (Debian: `clang gcc-multilib libbpf-dev`;
//! `scripts/setup` installs them). `CLANG` overrides the compiler.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = "bpf/uplane.bpf.c";
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-env-changed=CLANG");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let obj = out.join("uplane.bpf.o");
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".into());
    let mut cmd = Command::new(&clang);
    cmd.args([
        "-O2", "-g", "-target", "bpf", "-Wall", "-Werror", "-c", src, "-o",
    ])
    .arg(&obj);
    // `-target bpf` does not search the multiarch include directory where Debian keeps
    // `asm/types.h`; add it (gcc-multilib's /usr/include/asm symlink is the other way).
    if let Some(dir) = multiarch_include() {
        cmd.arg(format!("-I{dir}"));
    }
    let status = match cmd.status() {
        Ok(s) => s,
        Err(e) => panic!(
            "\n\nuplane-xdp: cannot run `{clang}` ({e}).\n\
             The XDP program is C compiled with clang at build time.\n\
             Run scripts/setup, or: apt-get install clang gcc-multilib llvm libbpf-dev\n\n"
        ),
    };
    if !status.success() {
        panic!(
            "\n\nuplane-xdp: `{clang} -target bpf` failed on {src} (see above).\n\
             Missing headers (linux/bpf.h, bpf/bpf_helpers.h)? \
             apt-get install gcc-multilib libbpf-dev\n\n"
        );
    }
}

fn multiarch_include() -> Option<String> {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").ok()?;
    let triple = match arch.as_str() {
        "x86_64" => "x86_64-linux-gnu",
        "aarch64" => "aarch64-linux-gnu",
        _ => return None,
    };
    let dir = format!("/usr/include/{triple}");
    std::path::Path::new(&dir).is_dir().then_some(dir)
}
