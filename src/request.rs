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

/// Environment variables that change the target of a command; approvals bind to them.
pub const TARGET_ENV: &[&str] = &[
    "KUBECONFIG",
    "KUBECTL_CONTEXT",
    "TF_WORKSPACE",
    "TF_DATA_DIR",
    "TF_CLI_ARGS",
    "TF_CLI_ARGS_plan",
    "TF_CLI_ARGS_apply",
    "AWS_PROFILE",
    "AWS_REGION",
    "GOOGLE_CLOUD_PROJECT",
    "CLOUDSDK_CORE_PROJECT",
];

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
    /// The current context's namespace, `default` when it sets none.
    pub namespace: String,
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
}

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
                namespace: "default".into(),
                manifests: Default::default(),
            },
            contained: false,
        }
    }

    /// The example context, for a line that runs contained.
    pub fn example_contained() -> Context {
        Context { contained: true, ..Context::example() }
    }
}

pub type Env = BTreeMap<String, String>;
