//! Writes `featureflags.pc` for pkg-config next to the built library, and gives the
//! shared library its SONAME (`libfeatureflags.so.0.<minor>` while the version is 0.x,
//! `libfeatureflags.so.<major>` from 1.0: README, "Versions and ABI").
//!
//! The header is not generated here: `cargo xtask header` writes it (and `--check`
//! compares it in CI), so a build never writes into the source tree.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // crates/featureflags-c → the repository, where include/ lives.
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("../..");
    let root = root.canonicalize().unwrap_or(root);
    let version = env::var("CARGO_PKG_VERSION").unwrap();
    write_pkg_config(&root, &version);
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        set_soname(&version);
    }
}

/// The SONAME: what a program linked with `-lfeatureflags` records and asks the loader
/// for. Cargo's rule for compatible versions: `0.<minor>` while 0.x (a 0.x minor release
/// may break), `<major>` from 1.0.
fn soname(version: &str) -> String {
    let mut parts = version.split('.');
    let major = parts.next().unwrap_or("0");
    let minor = parts.next().unwrap_or("0");
    if major == "0" {
        format!("libfeatureflags.so.0.{minor}")
    } else {
        format!("libfeatureflags.so.{major}")
    }
}

/// Links the cdylib with its SONAME and makes the SONAME a symlink to it next to the
/// built library (target/<profile>/), so programs linked against the build tree find it
/// through their rpath. The link may dangle until the library is linked.
fn set_soname(version: &str) {
    let soname = soname(version);
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let Some(profile_dir) = out.ancestors().nth(3) else { return };
    let link = profile_dir.join(&soname);
    if fs::read_link(&link).ok().as_deref() != Some(Path::new("libfeatureflags.so")) {
        let _ = fs::remove_file(&link);
        #[cfg(unix)]
        let _ = std::os::unix::fs::symlink("libfeatureflags.so", &link);
    }
}

/// What a static link needs besides `libfeatureflags.a`: the system libraries of Rust's
/// standard library, as `rustc --print native-static-libs` lists them for the target.
fn native_static_libs() -> &'static str {
    match env::var("CARGO_CFG_TARGET_ENV").as_deref() {
        Ok("musl") => "-lc",
        _ => "-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc",
    }
}

/// `featureflags.pc` lands next to the built library (target/<profile>/), pointing at
/// the repository's header and that directory, so `pkg-config --cflags --libs
/// featureflags` works for cgo and CMake users straight after `cargo build`.
fn write_pkg_config(root: &Path, version: &str) {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    // OUT_DIR is target/<profile>/build/<pkg>-<hash>/out
    let Some(profile_dir) = out.ancestors().nth(3) else { return };
    let pc = format!(
        "prefix={root}\nincludedir=${{prefix}}/include\nlibdir={lib}\n\nName: featureflags\nDescription: Feature-flag and experimentation engine (C ABI)\nVersion: {version}\nCflags: -I${{includedir}}\nLibs: -L${{libdir}} -Wl,-rpath,${{libdir}} -lfeatureflags\nLibs.private: {private}\n",
        private = native_static_libs(),
        root = root.display(),
        lib = profile_dir.display(),
    );
    let path = profile_dir.join("featureflags.pc");
    if fs::read_to_string(&path).ok().as_deref() != Some(pc.as_str()) {
        let _ = fs::write(path, pc);
    }
}
