//! Tells the tests whether the shared corpora are there.
//!
//! Tests that measure against external data (`../shared`: labelled messages, conformance vectors) find it through
//! `HANDRAIL_SHARED`. When the variable is unset they must show as *ignored*, not pass in 0 s: they carry
//! `#[cfg_attr(not(handrail_shared), ignore = "...")]`, and this script sets `handrail_shared` when the variable
//! is set. Cargo rebuilds when it changes. It also hands `--version` the target and profile of the build.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=HANDRAIL_SHARED");
    println!("cargo::rustc-check-cfg=cfg(handrail_shared)");
    // `handrail --version` names the build.
    for (var, from) in [("HANDRAIL_TARGET", "TARGET"), ("HANDRAIL_PROFILE", "PROFILE")] {
        println!("cargo::rustc-env={var}={}", std::env::var(from).unwrap_or_default());
    }
    if std::env::var_os("HANDRAIL_SHARED").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=handrail_shared");
    }
}
