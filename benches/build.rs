//! Builds the DPDK peer of the `lpm4_bulk` benchmark when `pkg-config libdpdk` finds DPDK
//! (`scripts/setup` installs `dpdk-dev`), and sets `cfg(have_dpdk)`. Without DPDK nothing is
//! compiled and the benchmark reports the peer as missing; the workspace still builds.

use std::path::PathBuf;
use std::process::Command;

fn pkg_config(arg: &str) -> Option<String> {
    let out = Command::new("pkg-config")
        .args([arg, "libdpdk"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn main() {
    println!("cargo::rustc-check-cfg=cfg(have_dpdk)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=csrc/dpdk_lpm.c");
    println!("cargo::rerun-if-env-changed=PKG_CONFIG_PATH");
    let (Some(cflags), Some(libs)) = (pkg_config("--cflags"), pkg_config("--libs")) else {
        println!("cargo::warning=DPDK not found (pkg-config libdpdk): lpm benchmarks run without their peer");
        return;
    };
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let obj = out.join("dpdk_lpm.o");
    let ok = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-O3", "-fPIC", "-c", "csrc/dpdk_lpm.c", "-o"])
        .arg(&obj)
        .args(cflags.split_whitespace())
        .status()
        .is_ok_and(|s| s.success())
        && Command::new("ar")
            .arg("crs")
            .arg(out.join("libuplane_dpdk_lpm.a"))
            .arg(&obj)
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        println!(
            "cargo::warning=compiling the DPDK shim failed: lpm benchmarks run without their peer"
        );
        return;
    }
    println!("cargo::rustc-link-search=native={}", out.display());
    println!("cargo::rustc-link-lib=static=uplane_dpdk_lpm");
    for tok in libs.split_whitespace() {
        if let Some(dir) = tok.strip_prefix("-L") {
            println!("cargo::rustc-link-search=native={dir}");
        } else if let Some(lib) = tok.strip_prefix("-l") {
            if lib.starts_with("rte_lpm")
                || lib == "rte_eal"
                || lib == "rte_hash"
                || lib == "rte_rcu"
                || lib == "rte_ring"
                || lib == "rte_mempool"
                || lib == "rte_log"
                || lib == "rte_kvargs"
                || lib == "rte_telemetry"
            {
                println!("cargo::rustc-link-lib={lib}");
            }
        }
    }
    println!("cargo::rustc-cfg=have_dpdk");
}
