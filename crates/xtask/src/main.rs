//! Repository tasks, run as `cargo xtask <task>`.
//!
//! `header` regenerates `include/featureflags.h` from the C API crate with cbindgen;
//! `header --check` fails when the committed header differs, which is how CI catches a
//! C API change whose header was not regenerated. Generating it by command rather than in
//! a build script keeps builds from writing into the source tree.
//!
//! The header is also written to each binding that carries a copy of it (`COPIES`): the Go
//! module is built from the module cache and vendored, where `include/` is out of reach, so
//! the copy is committed and `--check` covers it like the original.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["header"] => header(false),
        ["header", "--check"] => header(true),
        _ => {
            eprintln!("usage: cargo xtask header [--check]");
            ExitCode::from(2)
        }
    }
}

/// The header's committed copies, relative to the repository.
const COPIES: &[&str] = &["bindings/go/featureflags.h"];

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the repository")
}

fn header(check: bool) -> ExitCode {
    let root = repository();
    let crate_dir = root.join("crates/featureflags-c");
    let version = env!("CARGO_PKG_VERSION");
    let mut parts = version.split(['.', '-']);
    let mut next = || parts.next().unwrap_or("0").to_string();
    let (major, minor, patch) = (next(), next(), next());

    let mut config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    config.after_includes = Some(format!(
        "\n#define FF_VERSION \"{version}\"\n#define FF_VERSION_MAJOR {major}\n#define FF_VERSION_MINOR {minor}\n#define FF_VERSION_PATCH {patch}\n\n/** Short name for `FF_STATUS_OK`. */\n#define FF_OK 0\n"
    ));
    let mut generated = Vec::new();
    // Only the C API crate's sources: the core's items are not part of the C API.
    cbindgen::Builder::new()
        .with_src(crate_dir.join("src/lib.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header")
        .write(&mut generated);

    let mut stale = false;
    for name in std::iter::once("include/featureflags.h").chain(COPIES.iter().copied()) {
        let path = root.join(name);
        let current = std::fs::read(&path).unwrap_or_default();
        if current == generated {
            println!("{name} is up to date");
        } else if check {
            eprintln!("{name} differs from crates/featureflags-c/src: run `cargo xtask header` and commit it");
            stale = true;
        } else {
            std::fs::write(&path, &generated).unwrap_or_else(|e| panic!("write {name}: {e}"));
            println!("wrote {name}");
        }
    }
    if stale {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
