//! Generates `include/featureflags.h` with cbindgen and `featureflags.pc` for pkg-config.
//!
//! The header is committed. It is rewritten only when its content changes, so builds
//! stay incremental; with `FEATUREFLAGS_CHECK_HEADER=1` a difference fails the build
//! instead, which is how CI catches a header that drifted from `src/ffi/`.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=FEATUREFLAGS_CHECK_HEADER");

    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let version = env::var("CARGO_PKG_VERSION").unwrap();
    let mut parts = version.split(['.', '-']);
    let mut next = || parts.next().unwrap_or("0").to_string();
    let (major, minor, patch) = (next(), next(), next());

    let mut config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    config.after_includes = Some(format!(
        "\n#define FF_VERSION \"{version}\"\n#define FF_VERSION_MAJOR {major}\n#define FF_VERSION_MINOR {minor}\n#define FF_VERSION_PATCH {patch}\n\n/** Short name for `FF_STATUS_OK`. */\n#define FF_OK 0\n"
    ));
    let mut generated = Vec::new();
    // Only the C API's own files: the core's constants are not part of the C API, and a
    // header shares one namespace with everything its includer declares.
    cbindgen::Builder::new()
        .with_src(root.join("src/ffi/mod.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate include/featureflags.h")
        .write(&mut generated);

    let header = root.join("include/featureflags.h");
    let current = fs::read(&header).unwrap_or_default();
    if current != generated {
        if env::var("FEATUREFLAGS_CHECK_HEADER").as_deref() == Ok("1") {
            panic!("include/featureflags.h is out of date with src/ffi/: run `cargo build` and commit the header");
        }
        fs::create_dir_all(header.parent().unwrap()).unwrap();
        fs::write(&header, &generated).expect("write include/featureflags.h");
    }

    write_pkg_config(&root, &version);
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
