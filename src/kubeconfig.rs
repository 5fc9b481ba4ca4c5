//! Reads the kubeconfig in force (offline) to learn the current context, cluster and namespace.
//! Edge I/O: called before classification, never by it.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::request::KubeFacts;

#[derive(Debug, Default, Deserialize)]
struct KubeConfig {
    #[serde(rename = "current-context", default)]
    current_context: Option<String>,
    #[serde(default)]
    contexts: Option<Vec<NamedContext>>,
}

#[derive(Debug, Deserialize)]
struct NamedContext {
    name: String,
    #[serde(default)]
    context: Option<ContextBody>,
}

#[derive(Debug, Default, Deserialize, Clone)]
struct ContextBody {
    #[serde(default)]
    cluster: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
}

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

/// Facts about the context in force. Unreadable or unparseable files give an error string.
pub fn facts(files: &[PathBuf], context_flag: Option<&str>) -> Result<KubeFacts, String> {
    let mut current: Option<String> = None;
    let mut contexts: Vec<NamedContext> = Vec::new();
    for f in files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot read kubeconfig {}: {e}", f.display())),
        };
        if text.trim().is_empty() {
            continue;
        }
        let cfg: KubeConfig = serde_saphyr::from_str(&text).map_err(|e| format!("cannot parse kubeconfig {}: {e}", f.display()))?;
        // kubectl's merge: the first file to set a value wins.
        if current.is_none() {
            current = cfg.current_context.filter(|c| !c.is_empty());
        }
        for c in cfg.contexts.unwrap_or_default() {
            if !contexts.iter().any(|x| x.name == c.name) {
                contexts.push(c);
            }
        }
    }
    let name = context_flag.map(str::to_string).or(current);
    let body = name.as_ref().and_then(|n| contexts.iter().find(|c| &c.name == n)).and_then(|c| c.context.clone()).unwrap_or_default();
    Ok(KubeFacts {
        context: name,
        cluster: body.cluster,
        namespace: body.namespace.filter(|n| !n.is_empty()).unwrap_or_else(|| "default".to_string()),
        manifests: Default::default(),
    })
}
