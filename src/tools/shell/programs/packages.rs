//! Package managers: the language ones (`cargo`, `npm`, `pip`, `go`, …: the subcommands in the
//! policy's `[[shell.subcommands]]`),
//! `npx` and friends (they download and run a package), and the system ones (`apt`, `dnf`,
//! `brew`, …: anything but a query in `[[shell.reads]]` installs, removes or upgrades packages).

use super::super::words::Arg;
use super::super::{Stdin, Walker};
use super::{Judge, reads};
use crate::decision::Decision;

// `bun` is also an interpreter (`bun x.ts`): the code table's row for it comes first.
#[rustfmt::skip]
pub(super) const JUDGES: &[(&str, Judge)] = &[
    ("cargo", package_tool), ("npm", package_tool), ("pnpm", package_tool), ("yarn", package_tool),
    ("pip", package_tool), ("pip3", package_tool), ("go", package_tool), ("uv", package_tool), ("poetry", package_tool),
    ("pipenv", package_tool), ("pipx", package_tool), ("rustup", package_tool), ("gem", package_tool), ("bundle", package_tool),
    ("composer", package_tool),
    ("npx", npx), ("pnpx", npx), ("bunx", npx),
    ("apt", system_packages), ("apt-get", system_packages), ("aptitude", system_packages), ("dpkg", system_packages),
    ("yum", system_packages), ("dnf", system_packages), ("rpm", system_packages), ("pacman", system_packages),
    ("apk", system_packages), ("zypper", system_packages), ("snap", system_packages), ("flatpak", system_packages),
    ("brew", system_packages), ("port", system_packages), ("emerge", system_packages), ("nix-env", system_packages),
];

fn npx(w: &mut Walker, program: &str, _: &[Arg], _: &Stdin, _: usize) {
    w.flag(Decision::Escalate, "shell.npx", format!("{program} downloads and runs a package"))
}

fn system_packages(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, _: usize) {
    let first = rest.iter().find(|a| !a.text().starts_with("--") || reads(w, program, a.text()));
    if !first.is_some_and(|a| reads(w, program, a.text())) {
        w.flag(Decision::Escalate, "shell.package-install", format!("{program} installs, removes or upgrades system packages"));
    }
}

/// Language package managers and build tools: a subcommand guard does not know may be a
/// plugin or a project script; `npm exec` and friends run downloaded packages.
fn package_tool(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, _: usize) {
    let sub = rest.iter().find(|a| !a.text().starts_with('-')).map(Arg::text).unwrap_or_default();
    // The policy's `[[shell.subcommands]]` for this tool (none listed: any subcommand).
    let known = w.policy.shell.subcommands(program);
    if known.is_empty() || sub.is_empty() {
        return;
    }
    if !known.iter().any(|k| k == sub) {
        w.flag(
            Decision::Escalate,
            "shell.unknown-command",
            format!("{program} {sub} is not a subcommand guard knows (plugins and scripts can run anything)"),
        );
        return;
    }
    if matches!((program, sub), ("npm" | "pnpm" | "yarn" | "bun", "exec" | "x" | "dlx")) {
        w.flag(Decision::Escalate, "shell.npx", format!("{program} {sub} downloads and runs a package"));
    }
}
