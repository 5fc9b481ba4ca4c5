//! Package managers: the language ones (`cargo`, `npm`, `pip`, `go`, …: known subcommands),
//! `npx` and friends (they download and run a package), and the system ones (`apt`, `dnf`,
//! `brew`, …: anything but a query installs, removes or upgrades system packages).

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
    let known: &[&str] = match program {
        "cargo" => &[
            "build",
            "b",
            "check",
            "c",
            "test",
            "t",
            "run",
            "r",
            "clippy",
            "fmt",
            "doc",
            "d",
            "bench",
            "tree",
            "metadata",
            "new",
            "init",
            "add",
            "remove",
            "rm",
            "update",
            "fetch",
            "install",
            "uninstall",
            "clean",
            "search",
            "vendor",
            "package",
            "generate-lockfile",
            "locate-project",
            "pkgid",
            "verify-project",
            "version",
            "help",
            "fix",
            "rustc",
            "rustdoc",
            "nextest",
            "fuzz",
            "info",
            "llvm-cov",
            "miri",
            "expand",
            "udeps",
            "audit",
            "deny",
            "outdated",
            "machete",
            "insta",
            "watch",
            "make",
            "binstall",
            "publish",
            "login",
            "logout",
            "owner",
            "yank",
            "report",
            "config",
        ],
        "npm" | "pnpm" | "yarn" | "bun" => &[
            "install",
            "i",
            "ci",
            "add",
            "remove",
            "rm",
            "uninstall",
            "un",
            "update",
            "up",
            "upgrade",
            "test",
            "t",
            "run",
            "run-script",
            "build",
            "start",
            "ls",
            "list",
            "ll",
            "la",
            "audit",
            "outdated",
            "init",
            "create",
            "view",
            "info",
            "show",
            "pack",
            "version",
            "why",
            "explain",
            "dedupe",
            "prune",
            "rebuild",
            "config",
            "cache",
            "doctor",
            "help",
            "exec",
            "x",
            "dlx",
            "link",
            "unlink",
            "publish",
            "unpublish",
            "deprecate",
            "owner",
            "login",
            "logout",
            "adduser",
            "token",
            "access",
            "root",
            "bin",
            "prefix",
            "fund",
            "set-script",
            "pkg",
            "query",
            "search",
            "workspace",
            "workspaces",
            "install-test",
            "it",
            "lint",
            "format",
            "dev",
            "check",
            "typecheck",
            "tsc",
            "node",
            "whoami",
        ],
        "pip" | "pip3" => &[
            "install",
            "uninstall",
            "list",
            "show",
            "freeze",
            "download",
            "wheel",
            "check",
            "config",
            "index",
            "search",
            "hash",
            "inspect",
            "cache",
            "debug",
            "help",
            "--version",
            "-V",
        ],
        "go" => &[
            "build", "test", "run", "vet", "fmt", "mod", "get", "install", "env", "version", "generate", "list", "clean", "doc", "work",
            "tool", "fix", "help", "bug",
        ],
        _ => &[],
    };
    if known.is_empty() || sub.is_empty() {
        return;
    }
    if !known.contains(&sub) {
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
