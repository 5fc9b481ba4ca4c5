//! kubectl manifests: read what `-f FILE|DIR` names (YAML, multi-document, JSON, `List` kinds),
//! hash it, and snapshot exactly those bytes for kubectl to read. Edge I/O; the kubectl
//! classifier only sees the [`Manifest`] values this module produces.
//!
//! It must never let kubectl read a file guard did not inspect: the `-f` arguments of an
//! executed kubectl point at guard's snapshot, so an edit between check and run changes nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::digest::sha256_hex;
use crate::error::{Error, Result};
use crate::state::{Paths, ensure_private_dir};

/// Largest manifest input guard reads (all files of one `-f` together).
const MAX_BYTES: u64 = 8 * 1024 * 1024;
const MAX_FILES: usize = 500;

/// One object in a manifest.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Object {
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
}

/// What one `-f` argument holds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Manifest {
    pub objects: Vec<Object>,
    /// Why it could not be inspected (unreadable, unparseable, too large, …).
    pub error: Option<String>,
    pub sha256: String,
    /// The files read, relative to the argument (empty for a single file), with their bytes.
    #[serde(skip)]
    pub files: Vec<(PathBuf, Vec<u8>)>,
    pub is_dir: bool,
}

fn is_manifest_file(p: &Path) -> bool {
    p.extension().is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
}

fn collect(dir: &Path, rel: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir.join(rel))?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let r = rel.join(e.file_name());
        let ft = e.file_type()?;
        if ft.is_dir() && recursive {
            collect(dir, &r, recursive, out)?;
        } else if ft.is_file() && is_manifest_file(&r) {
            out.push(r);
        }
        if out.len() > MAX_FILES {
            return Ok(());
        }
    }
    Ok(())
}

/// Reads the manifest named by one `-f` argument (relative to `cwd`).
pub fn read(arg: &str, cwd: &Path, recursive: bool) -> Manifest {
    let path = cwd.join(arg);
    let mut m = Manifest::default();
    let fail = |mut m: Manifest, e: String| {
        m.error = Some(e);
        m
    };
    let meta = match std::fs::metadata(&path) {
        Ok(meta) => meta,
        Err(e) => return fail(m, format!("cannot read {arg}: {e}")),
    };
    let rels = if meta.is_dir() {
        m.is_dir = true;
        let mut v = Vec::new();
        if let Err(e) = collect(&path, Path::new(""), recursive, &mut v) {
            return fail(m, format!("cannot read the directory {arg}: {e}"));
        }
        if v.len() > MAX_FILES {
            return fail(m, format!("{arg} holds more than {MAX_FILES} manifest files"));
        }
        v
    } else {
        vec![PathBuf::new()]
    };
    let mut total = 0u64;
    let mut all_hash = String::new();
    for rel in rels {
        let file = if rel.as_os_str().is_empty() { path.clone() } else { path.join(&rel) };
        let bytes = match std::fs::read(&file) {
            Ok(b) => b,
            Err(e) => return fail(m, format!("cannot read {}: {e}", file.display())),
        };
        total += bytes.len() as u64;
        if total > MAX_BYTES {
            return fail(m, format!("{arg} is larger than {} MiB", MAX_BYTES / 1024 / 1024));
        }
        all_hash.push_str(&format!("{}\0{}\n", rel.display(), sha256_hex(&bytes)));
        match objects(&bytes) {
            Ok(objs) => m.objects.extend(objs),
            Err(e) => return fail(m, format!("cannot parse {}: {e}", file.display())),
        }
        m.files.push((rel, bytes));
    }
    m.sha256 = sha256_hex(all_hash.as_bytes());
    m
}

/// The objects in one file's bytes: YAML (one or more documents) or JSON, `List`s flattened.
pub fn objects(bytes: &[u8]) -> std::result::Result<Vec<Object>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
    let docs: Vec<Value> = match serde_json::from_str::<Value>(text) {
        Ok(v) => vec![v],
        Err(_) => serde_saphyr::from_multiple::<Value>(text).map_err(|e| e.to_string().lines().next().unwrap_or("bad YAML").to_string())?,
    };
    let mut out = Vec::new();
    for d in docs {
        flatten(&d, &mut out, 0)?;
    }
    Ok(out)
}

fn flatten(v: &Value, out: &mut Vec<Object>, depth: usize) -> std::result::Result<(), String> {
    if depth > 8 {
        return Err("Lists nested too deep".into());
    }
    if v.is_null() {
        return Ok(());
    }
    let Some(obj) = v.as_object() else { return Err("a document is not an object".into()) };
    let kind = obj.get("kind").and_then(Value::as_str).ok_or("an object without kind")?;
    if kind == "List" || (kind.ends_with("List") && obj.get("items").is_some()) {
        for item in obj.get("items").and_then(Value::as_array).into_iter().flatten() {
            flatten(item, out, depth + 1)?;
        }
        return Ok(());
    }
    let meta = obj.get("metadata");
    let name = meta.and_then(|m| m.get("name").or_else(|| m.get("generateName"))).and_then(Value::as_str).unwrap_or("").to_string();
    let namespace = meta.and_then(|m| m.get("namespace")).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    out.push(Object { kind: kind.to_string(), name, namespace });
    Ok(())
}

/// Reads every local `-f` manifest of a kubectl argv, found as kubectl parses its flags
/// (`-f x`, `-fx`, `-f=x`, `-Rf x`, `--filename=x`, `-f a,b`), `-R` honoured.
pub fn read_all(argv: &[String], cwd: &Path) -> BTreeMap<String, Manifest> {
    let p = crate::tools::kubectl::parse(argv);
    let recursive = p.recursive;
    p.files.into_iter().filter(|f| f != "-" && !f.contains("://")).map(|f| (f.clone(), read(&f, cwd, recursive))).collect()
}

/// Writes the inspected bytes of `m` under the state dir and returns the path kubectl reads.
pub fn snapshot(p: &Paths, m: &Manifest, arg: &str) -> Result<PathBuf> {
    let root = p.home.join("manifests").join(&m.sha256);
    ensure_private_dir(&root)?;
    let name = Path::new(arg).file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "manifest.yaml".into());
    let base = root.join(&name);
    for (rel, bytes) in &m.files {
        let dest = if rel.as_os_str().is_empty() { base.clone() } else { base.join(rel) };
        if let Some(parent) = dest.parent() {
            ensure_private_dir(parent)?;
        }
        std::fs::write(&dest, bytes).map_err(|e| Error::io("cannot snapshot manifest", &dest, e))?;
    }
    if m.is_dir {
        ensure_private_dir(&base)?;
    }
    Ok(base)
}

/// The argv kubectl runs with: every inspected `-f` value points at its snapshot. The values are
/// found where kubectl's own parse found them, so every spelling kubectl reads is rewritten.
pub fn rewrite_argv(argv: &[String], snapshots: &BTreeMap<String, PathBuf>) -> Result<Vec<String>> {
    let p = crate::tools::kubectl::parse(argv);
    let mut out = argv.to_vec();
    // Right to left within a token, so earlier offsets stay valid.
    let mut spots: Vec<(usize, usize, &String)> = p.file_spots.iter().zip(&p.files).map(|(&(t, o), f)| (t, o, f)).collect();
    spots.sort_by_key(|s| std::cmp::Reverse((s.0, s.1)));
    for (token, offset, file) in spots {
        let Some(snap) = snapshots.get(file) else { continue };
        let snap = snap.to_string_lossy();
        let Some(t) = out.get_mut(token) else {
            return Err(Error::Internal(format!("manifest argument {file} not found in argv")));
        };
        let end = offset + file.len();
        if t.get(offset..end) != Some(file.as_str()) || snap.contains(',') {
            return Err(Error::Internal(format!("cannot point -f {file} at its snapshot")));
        }
        t.replace_range(offset..end, &snap);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_multi_documents_json_and_lists() {
        let y = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: kube-system\n---\napiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  metadata: {name: p}\n";
        let o = objects(y).unwrap_or_default();
        assert_eq!(o.len(), 2);
        assert_eq!(o.first().and_then(|x| x.namespace.clone()), Some("kube-system".into()));
        let j = br#"{"kind":"Namespace","metadata":{"name":"kube-public"}}"#;
        assert_eq!(objects(j).unwrap_or_default().first().map(|x| x.kind.as_str()), Some("Namespace"));
        assert!(objects(b"kind: [unclosed").is_err());
        assert!(objects(b"- just\n- a list\n").is_err());
    }

    #[test]
    fn every_file_spelling_is_found_and_rewritten() {
        let argv: Vec<String> =
            ["apply", "-f", "a.yaml", "-fb.yaml", "--filename=c.yaml", "--filename", "d.yaml", "-R", "-Rfe.yaml", "-f=f.yaml,g.yaml"]
                .map(String::from)
                .to_vec();
        let p = crate::tools::kubectl::parse(&argv);
        assert_eq!(p.files, ["a.yaml", "b.yaml", "c.yaml", "d.yaml", "e.yaml", "f.yaml", "g.yaml"]);
        assert!(p.recursive);
        let snaps: BTreeMap<String, PathBuf> = p.files.iter().map(|f| (f.clone(), PathBuf::from(format!("/s/{f}")))).collect();
        let out = rewrite_argv(&argv, &snaps).unwrap_or_default();
        assert_eq!(
            out,
            [
                "apply",
                "-f",
                "/s/a.yaml",
                "-f/s/b.yaml",
                "--filename=/s/c.yaml",
                "--filename",
                "/s/d.yaml",
                "-R",
                "-Rf/s/e.yaml",
                "-f=/s/f.yaml,/s/g.yaml"
            ]
        );
    }
}
