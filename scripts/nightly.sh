# Sourced by scripts/fuzz.sh and scripts/miri.sh: makes sure the nightly toolchain and
# the pieces these steps need are installed, installing whatever is missing (rustup
# components, cargo-fuzz from crates.io). Nothing is installed by hand.

# Their builds (sanitized or interpreted, each a full rebuild of every dependency) live
# outside the tree, where the machine keeps caches: a fresh clone, as in CI, then only
# recompiles the workspace's own crates. FF_CACHE_DIR moves them.
build_cache="${FF_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/featureflags}"

ensure_nightly() {
    rustup toolchain list | grep -q '^nightly-' || rustup toolchain install nightly --profile minimal
}

# ensure_component NAME: a rustup component of the nightly toolchain (miri, rust-src,
# llvm-tools-preview; rustup lists that one installed as llvm-tools-<host>).
ensure_component() {
    ensure_nightly
    rustup +nightly component list --installed | grep -q "^${1%-preview}" || rustup +nightly component add "$1"
}

ensure_cargo_fuzz() {
    ensure_nightly
    cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
}
