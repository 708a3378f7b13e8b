//! The C test (`tests/c/test_api.c`) compiled against the shared library this crate
//! builds and run, so `cargo test` checks the C API the way C sees it: through the
//! committed header and the exported symbols.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/<profile>`, where cargo puts `libfeatureflags.so` (tests run from its `deps/`).
fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>").to_path_buf()
}

#[test]
fn the_c_test_passes_against_the_shared_library() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let lib = library_dir();
    // `cargo test` builds only what tests link, an rlib, which this crate does not make:
    // the shared library of this profile may be missing or stale until built here.
    let profile = if cfg!(debug_assertions) { "dev" } else { "release" };
    let built = Command::new(env!("CARGO"))
        .args(["build", "--lib", "-p", "featureflags-c", "--profile", profile])
        .status()
        .expect("cargo runs");
    assert!(built.success(), "building libfeatureflags.so failed");
    assert!(lib.join("libfeatureflags.so").exists(), "{} has no libfeatureflags.so", lib.display());
    let exe = lib.join("c-api-test");
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let compiled = Command::new(&compiler)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I"])
        .arg(repository.join("include"))
        .arg(repository.join("tests/c/test_api.c"))
        .arg("-L")
        .arg(&lib)
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .args(["-lfeatureflags", "-lm", "-o"])
        .arg(&exe)
        .status()
        .unwrap_or_else(|e| panic!("{compiler} could not be run: {e}"));
    assert!(compiled.success(), "the C test did not compile");
    let run = Command::new(&exe).output().expect("the C test runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "the C test failed:\n{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("checks passed"), "{stdout}");
}
