#!/usr/bin/env bash
# Builds guard, installs it and its shims under a prefix, prints the PATH line for the agent,
# and runs `guard doctor`. Running it twice is harmless.
set -euo pipefail

prefix="${HOME:?HOME is not set}/.local"
usage() { echo "usage: ./install.sh [--prefix DIR]   (default: ~/.local)"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { usage >&2; exit 64; }; prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; usage >&2; exit 64 ;;
  esac
done
case "$prefix" in /*) ;; *) prefix="$(pwd)/$prefix" ;; esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
command -v cargo >/dev/null || { echo "install.sh: cargo is needed (https://rustup.rs)" >&2; exit 69; }

cargo build --release --locked
target="${CARGO_TARGET_DIR:-$here/target}"
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
