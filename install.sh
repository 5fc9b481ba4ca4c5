#!/usr/bin/env bash
# Builds guard, installs it and its shims under a prefix, prints the PATH line for the agent,
# and runs `guard doctor`. Running it twice is harmless.
set -euo pipefail

prefix="${HOME:?HOME is not set}/.local"
build_only=
usage() { echo "usage: ./install.sh [--prefix DIR] [--build-only]   (default prefix: ~/.local)"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { usage >&2; exit 64; }; prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --build-only) build_only=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; usage >&2; exit 64 ;;
  esac
done
case "$prefix" in /*) ;; *) prefix="$(pwd)/$prefix" ;; esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
command -v cargo >/dev/null || { echo "install.sh: cargo is needed (https://rustup.rs)" >&2; exit 69; }

target="${CARGO_TARGET_DIR:-$here/target}"
# guard starts in front of every command an agent runs. On Linux/glibc it is linked statically
# and without PIE: no dynamic loader, no relocations to apply at start, about 1 ms less per
# command on the reference machine (README: Speed). Elsewhere, or if the static C library is
# missing, the default build is used. Only the binary crate gets these flags (`cargo rustc`):
# proc-macro dependencies cannot be built with crt-static.
if [ "$(uname -s)" = Linux ] && [ -z "${GUARD_DYNAMIC:-}" ] &&
   cargo rustc --release --locked --bin guard -- -C target-feature=+crt-static -C relocation-model=static; then
  :
else
  echo "install.sh: building the default, dynamically linked binary" >&2
  cargo build --release --locked
fi
if [ -n "$build_only" ]; then
  echo "$target/release/guard"
  exit 0
fi
bin="$prefix/bin"
shims="$prefix/share/guard/shims"
install -d -m 0755 "$bin" "$shims" "$prefix/share/guard/policies"

# Replace files by rename so a running guard or shim is never half-written.
install -m 0755 "$target/release/guard" "$bin/.guard.new"
mv -f "$bin/.guard.new" "$bin/guard"
for s in terraform kubectl bash sh; do
  sed "s|^exec guard |exec \"$bin/guard\" |" "shims/$s" > "$shims/.$s.new"
  chmod 0755 "$shims/.$s.new"
  mv -f "$shims/.$s.new" "$shims/$s"
done
install -m 0644 policies/default.toml "$prefix/share/guard/policies/default.toml"

echo
echo "guard installed: $bin/guard"
echo "Put guard's shims first on the agent's PATH:"
echo "  export PATH=\"$shims:\$PATH\""
echo
"$bin/guard" doctor
