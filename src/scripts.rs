//! The scripts a line runs: their content is bound into the request, and a contained line runs
//! the bound bytes.
//!
//! Binding (at judge time): each file the line runs as code (`source x.sh`, `bash x.sh`, `./x`,
//! as `tools::shell::scripts_run` finds them) gets a request key `script:<absolute path>` whose
//! value is the SHA-256 of its bytes, so an approval of one content never covers another.
//!
//! Running (at exec time, [`snapshot`]): guard copies each bound script into the line's runtime
//! dir (under the state dir, hidden from the sandbox), hashing the copy as it goes; a copy whose
//! hash is not the bound one means the script changed between judging and running, and nothing
//! runs. The sandbox helper then bind-mounts each copy read-only over the script's path inside
//! the line's own mount namespace, so what bash, the kernel's `#!` loader and the interpreter
//! open by that name is the copy, and the line's init supervises every open and exec of the
//! names (`sandbox::notify`) so a rename from outside cannot re-point them. Without containment
//! only the binding holds (README).

use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The request key prefix of a bound script.
pub const KEY: &str = "script:";

/// What a script's binding says when there are no bytes to hash.
fn unreadable(e: &std::io::Error) -> String {
    format!("unreadable ({})", e.kind())
}
const NOT_REGULAR: &str = "not a regular file";

/// Copies `from` to `to` (when given) while hashing; returns the hex SHA-256 of what was copied.
fn copy_hashing(mut from: std::fs::File, mut to: Option<&mut std::fs::File>) -> std::io::Result<String> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = from.read(&mut buf)?;
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else { break };
        h.update(chunk);
        if let Some(t) = to.as_deref_mut() {
            t.write_all(chunk)?;
        }
    }
    Ok(crate::digest::hex(&h.finalize()))
}

/// The value a script's binding holds: its SHA-256, or why there is none.
#[must_use]
pub fn fingerprint(path: &Path) -> String {
    match crate::state::open_regular(path) {
        Ok(Some(f)) => copy_hashing(f, None).unwrap_or_else(|e| unreadable(&e)),
        Ok(None) => NOT_REGULAR.into(),
        Err(e) => unreadable(&e),
    }
}

/// The scripts a request binds, with their bound values.
pub fn bound(target_env: &std::collections::BTreeMap<String, String>) -> Vec<(PathBuf, &str)> {
    target_env.iter().filter_map(|(k, v)| k.strip_prefix(KEY).map(|p| (PathBuf::from(p), v.as_str()))).collect()
}

/// A bound script's copy and the path it is mounted over.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    pub path: PathBuf,
    pub copy: PathBuf,
}

/// Copies each script the request binds into `dir` (private, hidden from the line), and refuses
/// (77) when a copy's hash is not the bound one. A script bound as absent or unreadable and still
/// so gets no snapshot (the line may create it); one that has become readable is refused.
pub fn snapshot(target_env: &std::collections::BTreeMap<String, String>, dir: &Path) -> Result<Vec<Snapshot>> {
    let mut out = Vec::new();
    for (n, (path, want)) in bound(target_env).into_iter().enumerate() {
        let changed = |now: &str| {
            Error::Blocked(format!(
                "guard: {} changed between the decision and the run (bound {}, now {}); nothing ran. Run the line again to have the new content judged",
                crate::display::escape(&path.to_string_lossy()),
                short(want),
                short(now)
            ))
        };
        let file = match crate::state::open_regular(&path) {
            Ok(Some(f)) => f,
            Ok(None) if want == NOT_REGULAR => continue,
            Ok(None) => return Err(changed(NOT_REGULAR)),
            Err(e) if want == unreadable(&e) => continue,
            Err(e) => return Err(changed(&unreadable(&e))),
        };
        crate::state::ensure_private_dir(dir)?;
        let copy = dir.join(format!("script-{n}"));
        let mode = file.metadata().map(|m| m.permissions().mode()).unwrap_or(0o600);
        let mut to = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&copy)
            .map_err(|e| Error::io("cannot snapshot a script", &copy, e))?;
        let got = copy_hashing(file, Some(&mut to)).map_err(|e| Error::io("cannot snapshot a script", &path, e))?;
        if got != want {
            return Err(changed(&got));
        }
        // The copy keeps the script's execute bits (`./x.sh`); the mount over it is read-only.
        let perms = std::fs::Permissions::from_mode((mode & 0o500) | 0o400);
        to.set_permissions(perms).map_err(|e| Error::io("cannot snapshot a script", &copy, e))?;
        to.sync_all().map_err(|e| Error::io("cannot snapshot a script", &copy, e))?;
        out.push(Snapshot { path, copy });
    }
    Ok(out)
}

fn short(v: &str) -> String {
    if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        format!("sha256 {}…", v.get(..12).unwrap_or(v))
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type R = std::result::Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn a_fifo_is_bound_as_not_a_regular_file_without_blocking() -> R {
        let dir = tempfile::tempdir()?;
        let fifo = dir.path().join("p");
        rustix::fs::mknodat(rustix::fs::CWD, &fifo, rustix::fs::FileType::Fifo, rustix::fs::Mode::from_raw_mode(0o600), 0)?;
        assert_eq!(fingerprint(&fifo), NOT_REGULAR);
        assert_eq!(fingerprint(dir.path()), NOT_REGULAR);
        assert_eq!(fingerprint(&dir.path().join("none")), "unreadable (entity not found)");
        Ok(())
    }

    #[test]
    fn a_snapshot_is_the_bound_bytes_or_nothing_runs() -> R {
        let dir = tempfile::tempdir()?;
        let script = dir.path().join("x.sh");
        std::fs::write(&script, "echo ok\n")?;
        let key = format!("{KEY}{}", script.display());
        let later = dir.path().join("later.sh");
        let mut env = std::collections::BTreeMap::from([
            (key.clone(), fingerprint(&script)),
            (format!("{KEY}{}", later.display()), fingerprint(&later)),
        ]);
        let snaps = snapshot(&env, &dir.path().join("run"))?;
        assert_eq!(snaps.len(), 1, "an absent script has no snapshot");
        assert_eq!(snaps.first().map(|s| std::fs::read(&s.copy)).transpose()?, Some(b"echo ok\n".to_vec()));
        std::fs::write(&script, "echo swapped\n")?;
        assert_eq!(snapshot(&env, &dir.path().join("run2")).err().map(|e| e.code()), Some(77), "a changed script is refused");
        std::fs::write(&later, "echo planted\n")?;
        env.insert(key, fingerprint(&script));
        assert_eq!(snapshot(&env, &dir.path().join("run3")).err().map(|e| e.code()), Some(77), "a script that appeared is refused");
        Ok(())
    }
}
