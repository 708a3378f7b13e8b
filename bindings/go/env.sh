# Sourced by test.sh and bench.sh (with $root set): finds Go, sets writable cache
# directories when HOME is unwritable, and builds the library if it is missing.
if ! command -v go >/dev/null 2>&1; then
  for d in /usr/local/go/bin /usr/lib/go/bin "$HOME/go/bin"; do
    [ -x "$d/go" ] && PATH="$d:$PATH" && break
  done
fi
command -v go >/dev/null 2>&1 || { echo "error: go not found: install Go 1.21 or later (https://go.dev/dl/) and put it on PATH" >&2; exit 1; }
command -v gcc >/dev/null 2>&1 || command -v cc >/dev/null 2>&1 || { echo "error: no C compiler (gcc/cc) for cgo" >&2; exit 1; }
export CGO_ENABLED=1
# go needs a build cache and a GOPATH; fall back to /tmp when HOME is unset or read-only.
if [ -z "${GOCACHE:-}" ] && { [ -z "${HOME:-}" ] || ! [ -w "${HOME:-/nonexistent}" ]; }; then
  export GOCACHE="${TMPDIR:-/tmp}/featureflags-go-cache"
fi
if [ -z "${GOPATH:-}" ] && { [ -z "${HOME:-}" ] || ! [ -w "${HOME:-/nonexistent}" ]; }; then
  export GOPATH="${TMPDIR:-/tmp}/featureflags-gopath"
fi
export GOFLAGS="${GOFLAGS:-}" GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
if [ ! -f "$root/target/release/libfeatureflags.so" ]; then
  command -v cargo >/dev/null 2>&1 || { echo "error: target/release/libfeatureflags.so is missing and cargo is not installed" >&2; exit 1; }
  echo "building libfeatureflags (cargo build --release)" >&2
  (cd "$root" && cargo build --release)
fi
