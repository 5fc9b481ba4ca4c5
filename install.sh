#!/usr/bin/env bash
# Builds guard, installs it and its shims under a prefix, runs `guard doctor`, and prints the
# next steps: the PATH lines, `guard approver init`, the agent hook and MCP snippets with guard's
# absolute path. Running it twice is harmless.
#
#   ./install.sh                        ~/.local/bin/guard; state in guard's usual place
#   ./install.sh --prefix DIR           DIR/bin/guard; writes nothing outside DIR
#   ./install.sh --prefix DIR --isolate DIR/bin/guard with its own state in DIR/state (the shims
#                                       and snippets set GUARD_HOME to it)
set -euo pipefail

default_prefix="${HOME:?HOME is not set}/.local"
prefix="$default_prefix"
prefix_given=
isolate=
build_only=
usage() { echo "usage: ./install.sh [--prefix DIR [--isolate]] [--build-only]   (default prefix: ~/.local)"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { usage >&2; exit 64; }; prefix="$2"; prefix_given=1; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; prefix_given=1; shift ;;
    --isolate) isolate=1; shift ;;
    --build-only) build_only=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; usage >&2; exit 64 ;;
  esac
done
if [ -n "$isolate" ] && [ -z "$prefix_given" ]; then
  echo "install.sh: --isolate needs --prefix DIR (the state goes to DIR/state)" >&2
  exit 64
fi
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
# The linker (lld, Rust's default here) packs the code and data guard's hot path touches side
# by side (benches/hot-functions.txt, made by benches/order-functions): ~40 fewer page faults
# a command. The list's names carry a hash of the build settings, which is why this build keeps
# the profile's symbols and strips them at the link instead; where the linker takes no list,
# the build goes without.
static() {
  CARGO_PROFILE_RELEASE_STRIP=false cargo rustc --release --locked --bin guard -- \
    -C target-feature=+crt-static -C relocation-model=static -C strip=symbols "$@"
}
order="$here/benches/hot-functions.txt"
if [ "$(uname -s)" = Linux ] && [ -z "${GUARD_DYNAMIC:-}" ] &&
   { static -C link-arg=-Wl,--symbol-ordering-file="$order" -C link-arg=-Wl,--no-warn-symbol-ordering || static; }; then
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
install -d -m 0755 "$bin" "$shims"
state=
env_prefix=
if [ -n "$isolate" ]; then
  state="$prefix/state"
  install -d -m 0700 "$state"
  env_prefix="GUARD_HOME=$state "
fi

# Replace files by rename so a running guard or shim is never half-written.
install -m 0755 "$target/release/guard" "$bin/.guard.new"
mv -f "$bin/.guard.new" "$bin/guard"
for s in terraform kubectl bash sh; do
  if [ -n "$isolate" ]; then
    sed "s|^exec guard |GUARD_HOME=\"$state\" exec \"$bin/guard\" |" "shims/$s" > "$shims/.$s.new"
  else
    sed "s|^exec guard |exec \"$bin/guard\" |" "shims/$s" > "$shims/.$s.new"
  fi
  chmod 0755 "$shims/.$s.new"
  mv -f "$shims/.$s.new" "$shims/$s"
done
# Earlier versions installed a copy of the built-in policy that guard never read.
rm -f "$prefix/share/guard/policies/default.toml"
rmdir "$prefix/share/guard/policies" 2>/dev/null || true

# The closing self-test. Installed in the usual place it records one `doctor` entry in guard's
# state, as `guard doctor` always does; under --prefix it writes only inside the prefix (its own
# state with --isolate, else a scratch state that is removed).
if [ -n "$isolate" ]; then
  doctor_home="$state"
elif [ -n "$prefix_given" ] && [ "$prefix" != "$default_prefix" ]; then
  doctor_home="$(mktemp -d "$prefix/.doctor.XXXXXX")"
  trap 'rm -rf "$doctor_home"' EXIT
else
  doctor_home="${GUARD_HOME:-}"
fi

q() { printf '%q' "$1"; }
hook_cmd="${env_prefix}$bin/guard hook claude"
echo
echo "guard installed: $bin/guard"
echo
echo "Next steps"
echo "1. Your own shell (the human's), so that \`guard approve\` is found:"
echo "     export PATH=\"$bin:\$PATH\""
if [ -n "$isolate" ]; then
  echo "     export GUARD_HOME=$(q "$state")"
fi
echo "2. Create the approver passphrase, in your own terminal (never the agent's):"
echo "     ${env_prefix}$bin/guard approver init"
echo "3. Put guard's shims first on the agent's PATH:"
echo "     export PATH=\"$shims:\$PATH\""
echo "4. Claude Code: in ~/.claude/settings.json (or the project's .claude/settings.json):"
cat <<EOF
     {
       "hooks": {
         "PreToolUse": [
           {
             "matcher": "Bash|Write|Edit|MultiEdit|NotebookEdit|mcp__.*",
             "hooks": [{ "type": "command", "command": "$hook_cmd" }]
           }
         ]
       }
     }
EOF
echo "   Codex, Cursor and Gemini CLI: README.md, \"Agents\"."
echo "5. MCP clients (Claude Desktop, Cursor, Codex): command \"$bin/guard\", args [\"mcp\"]${isolate:+, env GUARD_HOME=$state}."
echo
if [ -n "$doctor_home" ]; then
  GUARD_HOME="$doctor_home" "$bin/guard" doctor
else
  "$bin/guard" doctor
fi
