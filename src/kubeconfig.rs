//! Reads the kubeconfig in force (offline) once: the context, cluster server, user and namespace
//! kubectl will use, and a self-contained snapshot of the merged configuration for kubectl to
//! read instead of the files. Edge I/O: called before classification, never by it.
//!
//! It must never let guard and kubectl disagree about the target: guard binds what it read into
//! the request digest and hands kubectl exactly those bytes (`--kubeconfig <snapshot>`), so a
//! server URL or namespace edited after approval (or raced between check and run) changes
//! nothing. A file guard cannot read exactly as kubectl does (duplicate keys, merge keys, tags,
//! several documents, a field of the wrong type) is refused, never guessed at.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::digest::sha256_hex;
use crate::error::{Error, Result};
use crate::request::KubeFacts;
use crate::state::{Paths, ensure_private_dir};

/// The kubeconfig files in force: `--kubeconfig`, else `$KUBECONFIG` (a list), else `~/.kube/config`.
pub fn files(flag: Option<&str>, env_kubeconfig: Option<&str>, home: Option<&Path>) -> Vec<PathBuf> {
    if let Some(f) = flag {
        return vec![PathBuf::from(f)];
    }
    match env_kubeconfig.filter(|s| !s.is_empty()) {
        Some(list) => std::env::split_paths(list).filter(|p| !p.as_os_str().is_empty()).collect(),
        None => home.map(|h| vec![h.join(".kube/config")]).unwrap_or_default(),
    }
}

/// Overrides on kubectl's command line that change which entries are used.
#[derive(Debug, Default, Clone)]
pub struct Overrides<'a> {
    pub context: Option<&'a str>,
    pub cluster: Option<&'a str>,
    pub user: Option<&'a str>,
    pub server: Option<&'a str>,
    /// `--kubeconfig` was given: a missing file is then an error, as it is for kubectl.
    pub explicit: bool,
}

/// The parser options that match what kubectl accepts, or refuse: kubectl reads YAML with a
/// YAML 1.1 library that lets a later duplicate key win; guard cannot know which one a reader
/// takes, so any duplicate is an error, as are merge keys and tags it does not know.
fn yaml_options() -> serde_saphyr::Options {
    let mut o = serde_saphyr::Options::default();
    o.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    o.merge_keys = serde_saphyr::MergeKeyPolicy::Error;
    o.reject_unsupported_tags = true;
    o
}

/// One named entry (`clusters`, `users`, `contexts`): its body, and the directory of the file it
/// came from (relative paths in it are relative to that file, as kubectl resolves them).
type Entries = BTreeMap<String, (Map<String, Value>, PathBuf)>;

fn entries(cfg: &Map<String, Value>, list: &str, body: &str, file: &Path, out: &mut Entries) -> std::result::Result<(), String> {
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let items = match cfg.get(list) {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(format!("{}: `{list}` is not a list", file.display())),
    };
    for item in items {
        let Some(obj) = item.as_object() else { return Err(format!("{}: an entry of `{list}` is not a mapping", file.display())) };
        let name = match obj.get("name") {
            Some(Value::String(s)) => s.clone(),
            _ => return Err(format!("{}: an entry of `{list}` has no string `name`", file.display())),
        };
        let inner = match obj.get(body) {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(format!("{}: `{list}` entry {name}: `{body}` is not a mapping", file.display())),
        };
        for (k, v) in &inner {
            if !(v.is_string() || v.is_null()) && STRING_FIELDS.contains(&k.as_str()) {
                return Err(format!("{}: `{list}` entry {name}: `{k}` is not a string", file.display()));
            }
        }
        // kubectl's merge: the first file to name an entry wins.
        out.entry(name).or_insert((inner, dir.clone()));
    }
    Ok(())
}

/// Fields guard reads or rewrites; each must be a string (or absent) for guard to agree with kubectl.
const STRING_FIELDS: &[&str] =
    &["server", "cluster", "user", "namespace", "certificate-authority", "client-certificate", "client-key", "tokenFile", "proxy-url"];

/// Paths kubectl resolves relative to the file that holds them.
const PATH_FIELDS: &[&str] = &["certificate-authority", "client-certificate", "client-key", "tokenFile"];

fn absolutize(body: &mut Map<String, Value>, dir: &Path) {
    for f in PATH_FIELDS {
        if let Some(Value::String(p)) = body.get_mut(*f)
            && !p.is_empty()
            && Path::new(p.as_str()).is_relative()
        {
            *p = dir.join(p.as_str()).to_string_lossy().into_owned();
        }
    }
    if let Some(Value::Object(exec)) = body.get_mut("exec")
        && let Some(Value::String(cmd)) = exec.get_mut("command")
        && cmd.contains('/')
        && Path::new(cmd.as_str()).is_relative()
    {
        *cmd = dir.join(cmd.as_str()).to_string_lossy().into_owned();
    }
}

fn string(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}

/// How a user entry authenticates, for the approver: an `exec` plugin runs a program (outside any
/// sandbox, with the user's rights), so its command line is shown in full.
fn credentials(user: &Map<String, Value>) -> String {
    let mut out = Vec::new();
    if let Some(Value::Object(exec)) = user.get("exec") {
        let args: Vec<String> =
            exec.get("args").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect();
        let line = std::iter::once(string(exec, "command").unwrap_or_default()).chain(args).collect::<Vec<_>>().join(" ");
        out.push(format!("exec plugin `{line}`"));
    }
    if let Some(Value::Object(ap)) = user.get("auth-provider") {
        out.push(format!("auth-provider {}", string(ap, "name").unwrap_or_default()));
    }
    for (k, label) in [
        ("token", "token"),
        ("tokenFile", "token file"),
        ("client-certificate", "client certificate file"),
        ("client-certificate-data", "client certificate"),
        ("username", "basic auth"),
    ] {
        if user.get(k).is_some_and(|v| !v.is_null()) {
            out.push(match (k, user.get(k).and_then(Value::as_str)) {
                ("tokenFile" | "client-certificate", Some(path)) => format!("{label} {path}"),
                _ => label.to_string(),
            });
        }
    }
    if out.is_empty() { "none".into() } else { out.join(", ") }
}

/// Reads the kubeconfig files once and resolves what kubectl will use. Errors are refusals: the
/// caller must not run kubectl on a configuration guard could not read exactly.
pub fn resolve(files: &[PathBuf], o: &Overrides) -> std::result::Result<KubeFacts, String> {
    let mut current: Option<String> = None;
    let (mut clusters, mut users, mut contexts) = (Entries::new(), Entries::new(), Entries::new());
    let mut read_any = Vec::new();
    for f in files {
        let text = match std::fs::read(f) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !o.explicit => continue,
            Err(e) => return Err(format!("cannot read kubeconfig {}: {e}", f.display())),
        };
        read_any.push(format!("{}\0{}", f.display(), sha256_hex(&text)));
        let text = std::str::from_utf8(&text).map_err(|_| format!("kubeconfig {} is not UTF-8", f.display()))?;
        if text.trim().is_empty() {
            continue;
        }
        let cfg: Value = serde_saphyr::from_str_with_options(text, yaml_options()).map_err(|e| {
            format!("cannot parse kubeconfig {} as kubectl does: {}", f.display(), e.to_string().lines().next().unwrap_or(""))
        })?;
        let cfg = match cfg {
            Value::Object(m) => m,
            Value::Null => continue,
            _ => return Err(format!("kubeconfig {} is not a mapping", f.display())),
        };
        match cfg.get("current-context") {
            None | Some(Value::Null) => {}
            Some(Value::String(c)) => {
                if current.is_none() && !c.is_empty() {
                    current = Some(c.clone());
                }
            }
            Some(_) => return Err(format!("kubeconfig {}: `current-context` is not a string", f.display())),
        }
        entries(&cfg, "clusters", "cluster", f, &mut clusters)?;
        entries(&cfg, "users", "user", f, &mut users)?;
        entries(&cfg, "contexts", "context", f, &mut contexts)?;
    }
    let context = o.context.map(str::to_string).or(current);
    let body = context.as_ref().and_then(|n| contexts.get(n)).map(|(b, _)| b.clone()).unwrap_or_default();
    let cluster = o.cluster.map(str::to_string).or_else(|| string(&body, "cluster"));
    let user = o.user.map(str::to_string).or_else(|| string(&body, "user"));
    let server =
        o.server.map(str::to_string).or_else(|| cluster.as_ref().and_then(|c| clusters.get(c)).and_then(|(b, _)| string(b, "server")));
    let namespace = string(&body, "namespace").unwrap_or_else(|| "default".to_string());
    let auth = user.as_ref().and_then(|u| users.get(u)).map(|(b, _)| credentials(b));

    // The snapshot: every entry kubectl could use (so `--cluster`/`--user` still work), paths made
    // absolute, the resolved context current. JSON is YAML, and serde_json's maps are sorted, so
    // the same input always gives the same bytes.
    let list = |e: &Entries, body: &str| -> Vec<Value> {
        e.iter()
            .map(|(name, (b, dir))| {
                let mut b = b.clone();
                absolutize(&mut b, dir);
                json!({"name": name, body: b})
            })
            .collect()
    };
    let snap = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": list(&clusters, "cluster"),
        "users": list(&users, "user"),
        "contexts": list(&contexts, "context"),
        "current-context": context.clone().unwrap_or_default(),
        "preferences": {},
    });
    let bytes = serde_json::to_vec_pretty(&snap).map_err(|e| format!("cannot encode the kubeconfig snapshot: {e}"))?;
    Ok(KubeFacts {
        context,
        cluster,
        server,
        user,
        auth,
        namespace,
        kubeconfig_sha256: Some(sha256_hex(&bytes)),
        kubeconfig_snapshot: Some(bytes),
        error: None,
        manifests: Default::default(),
    })
}

/// A kubeconfig snapshot written for one run of kubectl; removed when dropped, because it may
/// hold credentials copied from the user's files.
pub struct Snapshot {
    pub path: PathBuf,
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Writes the snapshot under the state dir (0700 dir, 0600 file, a fresh name per run).
pub fn write_snapshot(p: &Paths, bytes: &[u8]) -> Result<Snapshot> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = p.home.join("kubeconfigs");
    ensure_private_dir(&dir)?;
    let path = dir.join(format!("{}.json", crate::digest::random_hex(16)?));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::io("cannot write the kubeconfig snapshot", &path, e))?;
    let snap = Snapshot { path };
    f.write_all(bytes).map_err(|e| Error::io("cannot write the kubeconfig snapshot", &snap.path, e))?;
    Ok(snap)
}

/// The argv kubectl runs with: the snapshot and the resolved context first, and every
/// `--kubeconfig` value of the original argv pointed at the snapshot too (pflag: the last wins).
pub fn rewrite_argv(argv: &[String], snapshot: &Path, context: Option<&str>) -> Vec<String> {
    let p = crate::tools::kubectl::parse(argv);
    let snap = snapshot.to_string_lossy();
    let mut out = argv.to_vec();
    for &(token, offset) in p.kubeconfig_spots.iter().rev() {
        if let Some(t) = out.get_mut(token)
            && offset <= t.len()
        {
            t.truncate(offset);
            t.push_str(&snap);
        }
    }
    let mut head = vec![format!("--kubeconfig={snap}")];
    if let Some(c) = context {
        head.push(format!("--context={c}"));
    }
    head.extend(out);
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        let _ = std::fs::write(&p, text);
        p
    }

    #[test]
    fn resolves_the_context_server_user_and_namespace_and_refuses_what_it_cannot_read_exactly() {
        let Ok(d) = tempfile::tempdir() else { return };
        let a = write(
            d.path(),
            "a",
            "clusters:\n- name: c\n  cluster: {server: 'https://a', certificate-authority: ca.pem}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: dev\n  context: {cluster: c, user: u, namespace: staging}\ncurrent-context: dev\n",
        );
        let b = write(d.path(), "b", "clusters:\n- name: c\n  cluster: {server: 'https://b'}\ncurrent-context: other\n");
        let f = resolve(&[a.clone(), b], &Overrides::default()).unwrap_or_default();
        assert_eq!(f.context.as_deref(), Some("dev"));
        assert_eq!(f.server.as_deref(), Some("https://a"), "the first file to name an entry wins");
        assert_eq!(f.user.as_deref(), Some("u"));
        assert_eq!(f.namespace, "staging");
        assert_eq!(f.auth.as_deref(), Some("token"));
        let snap = String::from_utf8(f.kubeconfig_snapshot.unwrap_or_default()).unwrap_or_default();
        assert!(snap.contains(&d.path().join("ca.pem").to_string_lossy().into_owned()), "{snap}");
        for bad in [
            "current-context: dev\ncurrent-context: prod\n",
            "contexts:\n- name: x\n  context: {namespace: a, namespace: b}\n",
            "base: &b {server: x}\nclusters:\n- name: c\n  cluster:\n    <<: *b\n",
            "contexts:\n- name: x\n  context: {namespace: [a]}\n",
            "current-context: dev\n---\ncurrent-context: prod\n",
        ] {
            let p = write(d.path(), "bad", bad);
            assert!(resolve(&[p], &Overrides::default()).is_err(), "accepted: {bad}");
        }
        let missing = d.path().join("missing");
        assert!(resolve(std::slice::from_ref(&missing), &Overrides::default()).is_ok());
        assert!(resolve(&[missing], &Overrides { explicit: true, ..Overrides::default() }).is_err());
    }

    #[test]
    fn every_kubeconfig_value_points_at_the_snapshot() {
        let argv: Vec<String> = ["--kubeconfig", "/x", "get", "pods", "--kubeconfig=/y"].map(String::from).to_vec();
        let out = rewrite_argv(&argv, Path::new("/s.json"), Some("dev"));
        assert_eq!(out, ["--kubeconfig=/s.json", "--context=dev", "--kubeconfig", "/s.json", "get", "pods", "--kubeconfig=/s.json"]);
    }
}
