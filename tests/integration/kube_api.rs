//! A small Kubernetes API stand-in: 127.0.0.1, random port, plain HTTP. It answers the
//! discovery and resource endpoints kubectl needs (get/list/create/patch/delete for pods,
//! configmaps, namespaces, secrets, deployments) and records every request, so a test can
//! prove that a blocked command never reached it and an allowed one did.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
}

pub struct KubeApi {
    _port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    pub dir: tempfile::TempDir,
}

type Store = Arc<Mutex<BTreeMap<String, Value>>>;

impl KubeApi {
    /// Starts the stand-in and writes a kubeconfig (context `dev`, namespace `staging`).
    pub fn start() -> KubeApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let store: Store = Arc::default();
        let (s2, st2) = (seen.clone(), store.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (s3, st3) = (s2.clone(), st2.clone());
                std::thread::spawn(move || serve(conn, &s3, &st3));
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let cfg = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: stand-in\n  cluster:\n    server: http://127.0.0.1:{port}\nusers:\n- name: tester\n  user:\n    token: test-token\ncontexts:\n- name: dev\n  context:\n    cluster: stand-in\n    user: tester\n    namespace: staging\n- name: prod-eu\n  context:\n    cluster: stand-in\n    user: tester\n    namespace: shop\ncurrent-context: dev\n"
        );
        std::fs::write(dir.path().join("kubeconfig"), cfg).unwrap();
        KubeApi { _port: port, seen, dir }
    }
    pub fn kubeconfig(&self) -> String {
        self.dir.path().join("kubeconfig").to_string_lossy().into_owned()
    }
    pub fn cache_dir(&self) -> String {
        self.dir.path().join("cache").to_string_lossy().into_owned()
    }
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
    pub fn clear(&self) {
        self.seen.lock().unwrap().clear();
    }
    /// Requests other than discovery.
    pub fn resource_requests(&self) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path.contains("/namespaces/") || s.method != "GET").collect()
    }
}

fn resources_v1() -> Value {
    let r = |name: &str, kind: &str, namespaced: bool, short: &[&str]| json!({"name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"], "shortNames": short});
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": [
        r("pods", "Pod", true, &["po"]), r("configmaps", "ConfigMap", true, &["cm"]), r("namespaces", "Namespace", false, &["ns"]),
        r("secrets", "Secret", true, &[]), r("services", "Service", true, &["svc"]), r("nodes", "Node", false, &["no"])
    ]})
}

fn route(method: &str, path: &str, body: &[u8], store: &Store) -> (u16, Value) {
    let path = path.split('?').next().unwrap_or("");
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("GET", ["version"]) => (200, json!({"major": "1", "minor": "32", "gitVersion": "v1.32.0", "platform": "linux/amd64"})),
        ("GET", ["api"]) => (
            200,
            json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
        ),
        ("GET", ["apis"]) => (
            200,
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [{"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}], "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}]}),
        ),
        ("GET", ["api", "v1"]) => (200, resources_v1()),
        ("GET", ["apis", "apps", "v1"]) => (
            200,
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1", "resources": [{"name": "deployments", "singularName": "", "namespaced": true, "kind": "Deployment", "verbs": ["create", "delete", "get", "list", "patch", "update"], "shortNames": ["deploy"]}]}),
        ),
        (_, ["api", "v1", "namespaces", ns, res, rest @ ..]) | (_, ["apis", "apps", "v1", "namespaces", ns, res, rest @ ..]) => {
            objects(method, ns, res, rest.first().copied(), body, store)
        }
        ("GET", ["api", "v1", "namespaces"]) => (
            200,
            json!({"kind": "NamespaceList", "apiVersion": "v1", "metadata": {}, "items": [{"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "staging"}}]}),
        ),
        _ => (
            404,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": format!("{path} not found"), "reason": "NotFound", "code": 404}),
        ),
    }
}

fn kind_of(res: &str) -> &'static str {
    match res {
        "pods" => "Pod",
        "configmaps" => "ConfigMap",
        "secrets" => "Secret",
        "services" => "Service",
        "deployments" => "Deployment",
        _ => "Unknown",
    }
}

fn objects(method: &str, ns: &str, res: &str, name: Option<&str>, body: &[u8], store: &Store) -> (u16, Value) {
    let kind = kind_of(res);
    let api = if res == "deployments" { "apps/v1" } else { "v1" };
    let key = |n: &str| format!("{ns}/{res}/{n}");
    let mut st = store.lock().unwrap();
    let not_found = |n: &str| {
        (
            404,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": format!("{res} \"{n}\" not found"), "reason": "NotFound", "details": {"name": n, "kind": res}, "code": 404}),
        )
    };
    match (method, name) {
        ("GET", None) => {
            let mut items: Vec<Value> = st.iter().filter(|(k, _)| k.starts_with(&format!("{ns}/{res}/"))).map(|(_, v)| v.clone()).collect();
            if res == "pods" {
                items.push(json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "web-1", "namespace": ns, "creationTimestamp": "2026-01-01T00:00:00Z"}, "status": {"phase": "Running"}}));
            }
            (200, json!({"kind": format!("{kind}List"), "apiVersion": api, "metadata": {"resourceVersion": "1"}, "items": items}))
        }
        ("GET", Some(n)) => match st.get(&key(n)) {
            Some(v) => (200, v.clone()),
            None if res == "pods" && n == "web-1" => (
                200,
                json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "web-1", "namespace": ns}, "status": {"phase": "Running"}}),
            ),
            None => not_found(n),
        },
        ("POST", _) => {
            let mut v: Value = serde_json::from_slice(body).unwrap_or(json!({}));
            let n = v["metadata"]["name"].as_str().unwrap_or("unnamed").to_string();
            v["metadata"]["namespace"] = json!(ns);
            v["metadata"]["resourceVersion"] = json!("2");
            v["metadata"]["uid"] = json!(format!("uid-{n}"));
            st.insert(key(&n), v.clone());
            (201, v)
        }
        ("PATCH" | "PUT", Some(n)) => match st.get(&key(n)).cloned() {
            Some(v) => (200, v),
            None => not_found(n),
        },
        ("DELETE", Some(n)) => {
            st.remove(&key(n));
            (200, json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "details": {"name": n, "kind": res}}))
        }
        _ => (405, json!({"kind": "Status", "status": "Failure", "code": 405})),
    }
}

fn serve(conn: TcpStream, seen: &Arc<Mutex<Vec<Seen>>>, store: &Store) {
    let Ok(mut writer) = conn.try_clone() else { return };
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut it = line.split_whitespace();
        let (method, path) = (it.next().unwrap_or("").to_string(), it.next().unwrap_or("").to_string());
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" || h == "\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        seen.lock().unwrap().push(Seen { method: method.clone(), path: path.clone() });
        // A server-side dry run (`kubectl diff`, `--dry-run=server`) answers as if it wrote, but
        // changes nothing, as the real API server does.
        let (code, v) = if path.contains("dryRun=All") {
            let scratch: Store = Arc::new(Mutex::new(store.lock().unwrap().clone()));
            route(&method, &path, &body, &scratch)
        } else {
            route(&method, &path, &body, store)
        };
        let text = v.to_string();
        let reason = match code {
            200 => "OK",
            201 => "Created",
            404 => "Not Found",
            _ => "Error",
        };
        let resp = format!("HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}", text.len());
        if writer.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}
