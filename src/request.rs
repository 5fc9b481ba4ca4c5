//! The typed request every tool produces, and the facts about the caller's environment that
//! classification may use. Built at the edge (cli) from argv, cwd and environment; after that,
//! classification sees only these values.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::policy::ToolName;

/// One guarded invocation: exactly what would run, where, and with which target environment.
#[derive(Clone, Debug, Serialize)]
pub struct Request {
    pub tool: ToolName,
    /// The tool's argv without the program name (for `shell`, bash's arguments, e.g. `-c LINE`).
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    /// The environment variables that change what the command targets (`KUBECONFIG`, …).
    pub target_env: BTreeMap<String, String>,
}

/// Environment variables that change what a command targets: bound into the request digest
/// (an approval given under one value does not run under another), recorded and shown at
/// approve time, and the only ones the broker takes from a contained line (see
/// `sandbox::broker`). The agent sets its own environment: none of them is trusted by itself.
pub const TARGET_ENV: &[&str] = &[
    "KUBECONFIG",
    "KUBECTL_CONTEXT",
    "TF_WORKSPACE",
    "TF_DATA_DIR",
    // Refused whenever set (see REFUSED_ENV); listed so the broker sees and refuses them too.
    "TF_CLI_ARGS",
    "TF_CLI_ARGS_plan",
    "TF_CLI_ARGS_apply",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "GOOGLE_CLOUD_PROJECT",
    "CLOUDSDK_CORE_PROJECT",
    "ARM_SUBSCRIPTION_ID",
    "ARM_TENANT_ID",
];

/// Environment variables that change what guard itself or the real tool does, which guard
/// honours from its own environment: bound, recorded and shown like [`TARGET_ENV`], but never
/// taken from a contained line (the broker's own values stand): guard's state (and with it the
/// approver key), its policy and the real binaries, files the tool loads code or credentials
/// from, the proxies, the loader's search path.
pub const BOUND_ENV: &[&str] = &[
    "GUARD_HOME",
    "GUARD_POLICY",
    "GUARD_SHIMS",
    "GUARD_TERRAFORM",
    "GUARD_KUBECTL",
    "GUARD_BASH",
    "XDG_STATE_HOME",
    "XDG_CONFIG_HOME",
    "TF_CLI_CONFIG_FILE",
    "TF_PLUGIN_CACHE_DIR",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "LD_LIBRARY_PATH",
];

/// Environment variables that make the real tool run code or arguments guard never sees:
/// guard refuses to run anything while one is set (a `guard:` line names it).
pub const REFUSED_ENV: &[(&str, &str)] = &[
    ("BASH_ENV", "bash runs that file before every line, unseen by guard"),
    ("ENV", "sh and bash in POSIX mode run that file, unseen by guard"),
    ("SHELLOPTS", "bash imports shell options from it (xtrace runs PS4's substitutions)"),
    ("BASHOPTS", "bash imports shell options from it"),
    ("BASH_FUNC_*", "bash imports it as a function that replaces a command guard checked"),
    ("TF_CLI_ARGS", "terraform adds its arguments to what guard checked"),
    ("TF_CLI_ARGS_*", "terraform adds its arguments to what guard checked"),
    ("KUBECTL_EXTERNAL_DIFF", "kubectl diff runs that program"),
    ("LD_PRELOAD", "the dynamic loader runs that library in the real tool"),
    ("LD_AUDIT", "the dynamic loader runs that library in the real tool"),
];

/// Why guard refuses to run under a variable named `name`, if it does.
#[must_use]
pub fn refused_env(name: &str) -> Option<&'static str> {
    REFUSED_ENV
        .iter()
        .find(|(pat, _)| match pat.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == *pat,
        })
        .map(|(_, why)| *why)
}

/// The refusal for the environment `vars` (names set to a non-empty value), as a verdict. Pure.
pub fn env_verdict<'a>(vars: impl IntoIterator<Item = &'a str>) -> crate::decision::Verdict {
    let mut v = crate::decision::Verdict::allow();
    for name in vars {
        if let Some(why) = refused_env(name) {
            v.add(crate::decision::Decision::Block, "env.refused", format!("{name} is set: {why}; unset it"));
        }
    }
    v
}

impl Request {
    /// For `shell`: the line given with `-c`, if any.
    pub fn shell_line(&self) -> Option<&str> {
        crate::tools::shell::bash_invocation(&self.argv).line
    }

    /// A stable SHA-256 over a canonical encoding of what would run.
    pub fn digest(&self) -> String {
        let canon = serde_json::json!({
            "tool": self.tool.as_str(),
            "argv": self.argv,
            "cwd": self.cwd.to_string_lossy(),
            "env": self.target_env,
        });
        crate::digest::sha256_hex(canon.to_string().as_bytes())
    }
}

/// What guard knows about the kubeconfig in force (read at the edge, offline).
#[derive(Clone, Debug, Default, Serialize)]
pub struct KubeFacts {
    pub context: Option<String>,
    pub cluster: Option<String>,
    /// The resolved cluster's server URL (what the cluster name points at).
    pub server: Option<String>,
    /// The kubeconfig user entry in force.
    pub user: Option<String>,
    /// How that user authenticates (an exec plugin's command line, a token, a certificate …).
    pub auth: Option<String>,
    /// The current context's namespace, `default` when it sets none.
    pub namespace: String,
    /// SHA-256 of the kubeconfig snapshot kubectl will read.
    pub kubeconfig_sha256: Option<String>,
    /// The merged kubeconfig, as kubectl will read it (absent in shell lines and examples).
    #[serde(skip)]
    pub kubeconfig_snapshot: Option<Vec<u8>>,
    /// Why the kubeconfig could not be read exactly as kubectl reads it: the command is refused.
    pub error: Option<String>,
    /// The manifests named by `-f`, read at the edge (absent in shell lines and examples).
    #[serde(skip)]
    pub manifests: std::collections::BTreeMap<String, crate::manifests::Manifest>,
}

/// Pure inputs to classification besides the request and the policy.
#[derive(Clone, Debug)]
pub struct Context {
    pub cwd: PathBuf,
    pub home: Option<PathBuf>,
    /// Guard's own files: state dir, policy, shims, binary. Writing to them is always blocked.
    pub guarded: Vec<PathBuf>,
    pub kube: KubeFacts,
    /// Whether what is classified will run contained (the sandbox makes unknown code harmless
    /// outside the project, so the rules that only guard against unknown code stand down).
    pub contained: bool,
    /// What git tracks in the project's work tree (`gitindex`), read only for a line that
    /// deletes recursively inside the project (see `crate::judge`).
    pub git: crate::gitindex::GitFacts,
    /// The environment sets `CDPATH`: `cd NAME` may go to a directory it lists, not `./NAME`.
    pub cdpath: bool,
    /// Variables in the environment that give git configuration or programs the line does not
    /// show (`GIT_CONFIG_COUNT`/`KEY_n`, `GIT_CONFIG_PARAMETERS`, `GIT_CONFIG_GLOBAL`,
    /// `GIT_EXEC_PATH`, …): an alias or a pager from there can run anything.
    pub git_env: Vec<String>,
}

/// The environment variables of [`Context::git_env`].
pub const GIT_ENV: &[&str] = &[
    "GIT_CONFIG_COUNT",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG",
    "GIT_EXEC_PATH",
    "GIT_TEMPLATE_DIR",
];

impl Context {
    /// The fixed context in which policy examples are checked, so they mean the same everywhere.
    pub fn example() -> Context {
        Context {
            cwd: PathBuf::from("/home/user/project"),
            home: Some(PathBuf::from("/home/user")),
            guarded: vec![
                PathBuf::from("/home/user/.local/state/guard"),
                PathBuf::from("/home/user/.config/guard"),
                PathBuf::from("/home/user/.local/bin/guard"),
                PathBuf::from("/home/user/.local/share/guard"),
            ],
            kube: KubeFacts {
                context: Some("dev".into()),
                cluster: Some("dev".into()),
                server: Some("https://dev.example:6443".into()),
                user: Some("dev".into()),
                namespace: "default".into(),
                ..KubeFacts::default()
            },
            contained: false,
            git: crate::gitindex::GitFacts::Tracked {
                root: PathBuf::from("/home/user/project"),
                index: std::sync::Arc::new(crate::gitindex::Index::example()),
            },
            cdpath: false,
            git_env: Vec::new(),
        }
    }

    /// The example context, for a line that runs contained.
    pub fn example_contained() -> Context {
        Context { contained: true, ..Context::example() }
    }
}

pub type Env = BTreeMap<String, String>;
