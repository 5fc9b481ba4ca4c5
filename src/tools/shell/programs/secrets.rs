//! Reads of secrets: the policy's secret paths, system credential files, and files whose
//! names look like secrets wherever they are (`.env*`, keys, `id_*`, `*.tfvars`, …).

use super::super::Walker;
use super::super::places;
use super::super::words::Arg;
use crate::decision::Decision;

/// Programs that only look at a path's name or metadata, never its content.
const METADATA_ONLY: &[&str] = &[
    "ls", "stat", "test", "[", "du", "realpath", "readlink", "dirname", "basename", "mkdir", "touch", "chmod", "chown", "cd", "rm", "file",
];

/// Whether a file name holds secrets wherever it is (`.env*`, keys, `id_*`, `*.tfvars`, …),
/// the look-alikes (`.example`, `.sample`, `.template`, `.dist`, `.pub`) excepted. No
/// allocation: it runs on every argument of every command.
fn secret_name(name: &str) -> bool {
    const NAMES: &[&str] = &[
        "id_rsa",
        "id_dsa",
        "id_ecdsa",
        "id_ed25519",
        "id_ecdsa_sk",
        "id_ed25519_sk",
        ".netrc",
        ".git-credentials",
        ".pgpass",
        ".npmrc",
        ".pypirc",
        ".vault-token",
        "credentials",
        "shadow",
        "gshadow",
    ];
    const SUFFIXES: &[&str] = &[".pem", ".key", ".p12", ".pfx", ".kdbx", ".tfvars"];
    const LOOK_ALIKES: &[&str] = &[".example", ".sample", ".template", ".dist", ".pub"];
    if LOOK_ALIKES.iter().any(|s| name.ends_with(s)) {
        return false;
    }
    name == ".env" || name.starts_with(".env.") || NAMES.contains(&name) || SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// Reading a secret escalates, with a clear message: inside the sandbox the policy's secrets
/// are unreadable anyway, and the agent deserves an answer rather than EACCES; a secret-shaped
/// file inside the project (`.env`, a key) the sandbox cannot tell from code.
pub(super) fn secret_reads(w: &mut Walker, program: &str, rest: &[Arg]) {
    if METADATA_ONLY.contains(&program) {
        return;
    }
    let mut listed = None;
    for a in rest {
        let Some(text) = a.lit() else { continue };
        let value = if text.starts_with("--") { text.split_once('=').map_or("", |(_, v)| v) } else { text };
        if value.is_empty() || value.starts_with('-') {
            continue;
        }
        let secret = if !value.contains('/') && !value.starts_with('~') {
            secret_name(value)
        } else {
            let Some((abs, _)) = places::absolute(&Arg::Lit(value.to_string()), w.cwd.as_deref(), w.ctx.home.as_deref()) else { continue };
            let in_list = listed.get_or_insert_with(|| w.policy.sandbox.secret_paths(w.ctx.home.as_deref())).holds(&abs);
            let system = abs.starts_with("/etc/shadow") || abs.starts_with("/etc/gshadow") || abs.starts_with("/etc/sudoers");
            in_list || system || abs.file_name().and_then(|n| n.to_str()).is_some_and(secret_name)
        };
        if secret {
            w.flag(Decision::Escalate, "shell.secret-read", format!("{program} reads {value}, which holds or looks like a secret"));
        }
    }
}
