//! The policy: TOML schema, the built-in default, merge, validation, examples checked at load.
//!
//! Owns reading policy text into an effective [`Policy`]. A user policy is merged over the
//! built-in default field by field: tables merge, lists replace. Unknown keys, bad values and
//! failing examples are configuration errors (exit 78) naming the file and line.
//! It must never read the environment or the clock: callers pass the text in.

pub mod duration;
pub mod rules;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::decision::Decision;
use crate::error::{Error, Result};
pub use duration::Ttl;
pub use rules::{LineExample, Rule, glob};

/// The shipped default policy, compiled in.
pub const DEFAULT_POLICY: &str = include_str!("../../policies/default.toml");

/// The same policy as JSON, made by build.rs, for a fast start.
const DEFAULT_POLICY_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/default_policy.json"));

/// Which tool an example or request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolName {
    Shell,
    Kubectl,
    Terraform,
}

impl ToolName {
    pub fn as_str(self) -> &'static str {
        match self {
            ToolName::Shell => "shell",
            ToolName::Kubectl => "kubectl",
            ToolName::Terraform => "terraform",
        }
    }
}

/// A policy-wide example: a command and the decision it must get.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub tool: ToolName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    pub decision: Decision,
    /// Optional: a rule id that must be among the reasons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

// ---- the file as written: every field optional, so a user policy says only what it changes ----

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<DefaultsFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<ToolsFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubectl: Option<KubectlFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terraform: Option<TerraformFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<ShellFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<SandboxFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub examples: Option<Vec<Example>>,
    /// Agent hooks (`guard hook …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<HookFile>,
    /// MCP tool calls seen by the agent hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp: Option<McpFile>,
}

/// `[hook]`: what an agent hook answers when guard would allow.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HookFile {
    pub allow: Option<HookAllow>,
}

/// A hook's answer for what guard allows: no opinion (the agent's own permission rules decide,
/// the default) or an explicit allow (which skips the agent's own prompt).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookAllow {
    #[default]
    NoOpinion,
    Allow,
}

/// `[mcp]`: user rules on MCP tool calls.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct McpFile {
    pub rules: Option<Vec<McpRule>>,
}

/// `[[mcp.rules]]`: globs on the server, the tool and argument values, and a decision.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct McpRule {
    pub id: String,
    /// Glob on the server name (`mcp__<server>__<tool>`).
    pub server: String,
    /// Glob on the tool name.
    pub tool: String,
    /// Argument name → glob its value must match (strings as they are, other values as JSON).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub args: std::collections::BTreeMap<String, String>,
    pub decision: Decision,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<McpExample>,
}

/// An MCP call a rule must decide as said, checked when the policy loads.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct McpExample {
    pub server: String,
    pub tool: String,
    #[serde(default)]
    pub args: serde_json::Map<String, serde_json::Value>,
    pub decision: Decision,
}

/// `[sandbox]`: what a contained line may reach (see `crate::sandbox`). Paths may start with `~/`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxFile {
    pub mode: Option<SandboxMode>,
    /// Writable besides the project and the private temp dir (tool caches).
    pub writable: Option<Vec<String>>,
    /// Never readable (nor writable) inside.
    pub secrets: Option<Vec<String>>,
    /// Lines that run one of these get the network.
    pub network_programs: Option<Vec<String>>,
    /// Extension: paths inside `secrets` that stay readable (e.g. `~/.ssh/known_hosts`).
    pub readable: Option<Vec<String>>,
    /// Extension: globs of environment variable names removed inside (credential-shaped).
    pub env_remove: Option<Vec<String>>,
    /// Extension: what `guard run` adds for a known agent harness.
    pub agents: Option<Vec<AgentProfile>>,
    /// Extension: unix sockets that must not be reachable inside (a container daemon's socket
    /// is root on the host); `$UID` stands for the caller's uid.
    pub hidden_sockets: Option<Vec<String>>,
    /// Extension: the secrets a brokered terraform or kubectl may read (it runs in a sandbox of
    /// its own: the cloud credentials, the kubeconfig), and nothing else of `secrets`.
    pub tool_credentials: Option<Vec<String>>,
}

/// Whether guard contains what it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SandboxMode {
    Enforce,
    Off,
}

/// `[[sandbox.agents]]`: a harness's own state, writable under `guard run`, and its own keys.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AgentProfile {
    /// The program's base name (`claude`, `codex`, `aider`).
    pub program: String,
    #[serde(default)]
    pub writable: Vec<String>,
    /// Files under `writable` that stay read-only: the harness's hook and permission settings.
    #[serde(default)]
    pub pinned: Vec<String>,
    /// Globs of variable names kept although `env_remove` matches them (the agent's own API key).
    #[serde(default)]
    pub env_keep: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SandboxPolicy {
    pub mode: SandboxMode,
    pub writable: Vec<String>,
    pub secrets: Vec<String>,
    pub network_programs: Vec<String>,
    pub readable: Vec<String>,
    pub env_remove: Vec<String>,
    pub agents: Vec<AgentProfile>,
    pub hidden_sockets: Vec<String>,
    pub tool_credentials: Vec<String>,
    /// `secrets` and `readable` expanded for the home directory first asked about (see
    /// [`SandboxPolicy::secret_paths`]); the lists do not change after the policy is loaded.
    #[serde(skip)]
    pub(crate) expanded: std::sync::OnceLock<SecretPaths>,
}

impl SandboxPolicy {
    /// `secrets` and `readable` expanded for `home`. The shell walker asks for every argument
    /// that names a path, and `explain --jsonl` for every line: expanding the ~40 entries each
    /// time took a tenth of its time, so the first home's expansion is kept.
    pub fn secret_paths(&self, home: Option<&Path>) -> std::borrow::Cow<'_, SecretPaths> {
        let first = self.expanded.get_or_init(|| SecretPaths::new(self, home));
        if first.home.as_deref() == home {
            std::borrow::Cow::Borrowed(first)
        } else {
            std::borrow::Cow::Owned(SecretPaths::new(self, home))
        }
    }
}

/// The policy's secret paths for one home directory.
#[derive(Clone, Debug)]
pub struct SecretPaths {
    home: Option<PathBuf>,
    secrets: Vec<PathBuf>,
    /// The same paths, for looking up a path's ancestors.
    secret_set: HashSet<PathBuf>,
    readable: Vec<PathBuf>,
}

impl SecretPaths {
    fn new(sb: &SandboxPolicy, home: Option<&Path>) -> Self {
        let expand = |s: &String| crate::sandbox::expand(s, home);
        let secrets: Vec<PathBuf> = sb.secrets.iter().filter_map(expand).collect();
        SecretPaths {
            home: home.map(Path::to_path_buf),
            secret_set: secrets.iter().cloned().collect(),
            secrets,
            readable: sb.readable.iter().filter_map(expand).collect(),
        }
    }

    /// Whether `abs` is a secret path or under one, and not one of the readable exceptions:
    /// `secrets.iter().any(|s| abs.starts_with(s)) && !readable.contains(abs)`, answered by
    /// looking up `abs` and its ancestors (a path starts with `s` exactly when one of its
    /// ancestors equals `s`; `Path`'s hash agrees with its component-wise equality).
    pub fn holds(&self, abs: &Path) -> bool {
        let under = if self.secrets.iter().any(|s| s.components().next().is_none()) {
            // An empty entry is a prefix of everything but no ancestor of an absolute path.
            true
        } else {
            abs.ancestors().any(|a| self.secret_set.contains(a))
        };
        under && !self.readable.iter().any(|r| r == abs)
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultsFile {
    pub plan_ttl: Option<Ttl>,
    pub approval_ttl: Option<Ttl>,
    pub request_ttl: Option<Ttl>,
    pub max_lease_ttl: Option<Ttl>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ToolsFile {
    pub terraform: Option<PathBuf>,
    pub kubectl: Option<PathBuf>,
    /// Extension: the real bash `guard shell` runs (else the first bash on PATH that is not a shim).
    pub bash: Option<PathBuf>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KubectlFile {
    pub protected_namespaces: Option<Vec<String>>,
    /// Extension: overrides for contexts whose name matches a glob, first match wins.
    pub contexts: Option<Vec<ContextRule>>,
}

/// `[[kubectl.contexts]]`: e.g. `name = "prod*"`, `mutations = "block"`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContextRule {
    pub name: String,
    /// The decision for mutations (and exec-like verbs) in these contexts.
    pub mutations: Decision,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TerraformFile {
    pub protected_types: Option<Vec<String>>,
    pub protected_addresses: Option<Vec<String>>,
    pub apply: Option<Decision>,
    /// Extension: the decision for state-rewriting subcommands (`state rm`, `import`, …).
    pub state_rewrite: Option<Decision>,
    /// Extension: per-workspace overrides, first match wins.
    pub workspaces: Option<Vec<WorkspaceRule>>,
}

/// `[[terraform.workspaces]]`: overrides for workspaces whose name matches a glob.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceRule {
    pub name: String,
    /// The decision for applying any plan in these workspaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply: Option<Decision>,
    /// The decision for plans that delete or replace anything in these workspaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletes: Option<Decision>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ShellFile {
    pub disabled_rules: Option<Vec<String>>,
    pub rules: Option<Vec<Rule>>,
    /// Guard's own data rules; only the built-in policy may set them.
    pub builtin_rules: Option<Vec<Rule>>,
    /// `[[shell.reads]]`: programs and their subcommands (or verbs) that only read. A program
    /// named here gets this list instead of the built-in one; the others keep theirs.
    pub reads: Option<Vec<Subcommands>>,
    /// `[[shell.subcommands]]`: programs and the subcommands they have of their own (not
    /// aliases or plugins); merged per program like `reads`.
    pub subcommands: Option<Vec<Subcommands>>,
}

/// One `[[shell.reads]]` or `[[shell.subcommands]]` entry: programs that share a list.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Subcommands {
    pub programs: Vec<String>,
    pub subcommands: Vec<String>,
}

/// The effective lists: the user's entries, then the built-in ones for the programs the user
/// did not name, with each program's entry found by name. Programs share an entry rather than
/// each holding a copy: the built-in policy is parsed on every start.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(transparent)]
pub struct ProgramLists {
    entries: Vec<Subcommands>,
    #[serde(skip)]
    index: HashMap<String, usize>,
}

impl ProgramLists {
    fn merge(base: Vec<Subcommands>, user: Vec<Subcommands>) -> Self {
        let named: BTreeSet<String> = user.iter().flat_map(|e| e.programs.iter().cloned()).collect();
        let mut entries = user;
        for mut e in base {
            e.programs.retain(|p| !named.contains(p));
            if !e.programs.is_empty() {
                entries.push(e);
            }
        }
        let mut index = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            for p in &e.programs {
                // A program named twice takes its first entry.
                index.entry(p.clone()).or_insert(i);
            }
        }
        ProgramLists { entries, index }
    }

    /// The list for `program` (empty for a program no entry names).
    pub fn get(&self, program: &str) -> &[String] {
        self.index.get(program).and_then(|&i| self.entries.get(i)).map_or(&[], |e| e.subcommands.as_slice())
    }
}

// ---- the effective policy ----

#[derive(Clone, Debug, Serialize)]
pub struct Defaults {
    pub plan_ttl: Ttl,
    pub approval_ttl: Ttl,
    pub request_ttl: Ttl,
    pub max_lease_ttl: Ttl,
}

#[derive(Clone, Debug, Serialize)]
pub struct Tools {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terraform: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubectl: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bash: Option<PathBuf>,
}

#[derive(Clone, Debug, Serialize)]
pub struct KubectlPolicy {
    pub protected_namespaces: Vec<String>,
    pub contexts: Vec<ContextRule>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TerraformPolicy {
    pub protected_types: Vec<String>,
    pub protected_addresses: Vec<String>,
    pub apply: Decision,
    pub state_rewrite: Decision,
    pub workspaces: Vec<WorkspaceRule>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ShellPolicy {
    pub disabled_rules: BTreeSet<String>,
    pub rules: Vec<Rule>,
    pub builtin_rules: Vec<Rule>,
    /// Programs → the subcommands or verbs of them that only read (`[[shell.reads]]`).
    pub reads: ProgramLists,
    /// Programs → the subcommands they have of their own (`[[shell.subcommands]]`).
    pub subcommands: ProgramLists,
    /// Rules by exact program name, and rules whose program is a glob; built once at load.
    #[serde(skip)]
    index: RuleIndex,
}

#[derive(Clone, Debug, Default)]
struct RuleIndex {
    builtin_exact: HashMap<String, Vec<usize>>,
    builtin_glob: Vec<(usize, ProgramPattern)>,
    user_exact: HashMap<String, Vec<usize>>,
    user_glob: Vec<(usize, ProgramPattern)>,
}

/// A rule's `program` glob, taken apart once when the policy loads: every command of every line
/// is checked against each glob rule, and most of those are plain alternations
/// (`{kill,pkill,killall}`), which are then a list lookup instead of a glob.
#[derive(Clone, Debug)]
enum ProgramPattern {
    /// `{a,b,c}` with no other glob character: matches exactly one of the names.
    OneOf(Vec<String>),
    /// Anything else: [`glob`] on the pattern.
    Glob,
}

impl ProgramPattern {
    fn of(pattern: &str) -> Self {
        match pattern.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(inner) if !inner.contains(['*', '?', '{', '}']) => ProgramPattern::OneOf(inner.split(',').map(str::to_string).collect()),
            _ => ProgramPattern::Glob,
        }
    }

    /// The same answer as `glob(pattern, program)`.
    fn matches(&self, pattern: &str, program: &str) -> bool {
        match self {
            ProgramPattern::OneOf(names) => names.iter().any(|n| n == program),
            ProgramPattern::Glob => glob(pattern, program),
        }
    }
}

impl ShellPolicy {
    /// Whether a built-in data rule names `program` (a function of that name is judged as the
    /// program too: see the shell walker).
    pub fn names_program(&self, program: &str) -> bool {
        self.builtin_for(program).next().is_some()
    }

    /// Built-in data rules that apply to `program` and are not disabled.
    pub fn builtin_for<'a>(&'a self, program: &'a str) -> impl Iterator<Item = &'a Rule> + 'a {
        let exact = self.index.builtin_exact.get(program).into_iter().flatten();
        let globs = self
            .index
            .builtin_glob
            .iter()
            .filter_map(move |(i, pat)| self.builtin_rules.get(*i).filter(|r| pat.matches(&r.program, program)));
        exact.filter_map(|&i| self.builtin_rules.get(i)).chain(globs).filter(move |r| !self.disabled_rules.contains(&r.id))
    }

    /// User rules that apply to `program`.
    pub fn user_for<'a>(&'a self, program: &'a str) -> impl Iterator<Item = &'a Rule> + 'a {
        let exact = self.index.user_exact.get(program).into_iter().flatten().filter_map(|&i| self.rules.get(i));
        exact.chain(self.index.user_glob.iter().filter_map(move |(i, pat)| self.rules.get(*i).filter(|r| pat.matches(&r.program, program))))
    }

    /// The subcommands or verbs of `program` that only read (empty for a program not listed).
    pub fn reads(&self, program: &str) -> &[String] {
        self.reads.get(program)
    }

    /// The subcommands `program` has of its own (empty for a program not listed).
    pub fn subcommands(&self, program: &str) -> &[String] {
        self.subcommands.get(program)
    }

    /// Whether a code rule of the classifier is turned off by the user.
    pub fn enabled(&self, rule_id: &str) -> bool {
        !self.disabled_rules.contains(rule_id)
    }

    fn build_index(&mut self) {
        let mut idx = RuleIndex::default();
        for (i, r) in self.builtin_rules.iter().enumerate() {
            if r.program.contains(['*', '?', '{']) {
                idx.builtin_glob.push((i, ProgramPattern::of(&r.program)));
            } else {
                idx.builtin_exact.entry(r.program.clone()).or_default().push(i);
            }
        }
        for (i, r) in self.rules.iter().enumerate() {
            if r.program.contains(['*', '?', '{']) {
                idx.user_glob.push((i, ProgramPattern::of(&r.program)));
            } else {
                idx.user_exact.entry(r.program.clone()).or_default().push(i);
            }
        }
        self.index = idx;
    }
}

/// Where the effective policy came from, for messages and `guard policy show`.
#[derive(Clone, Debug, Serialize)]
pub struct PolicySource {
    pub file: Option<PathBuf>,
}

#[derive(Clone, Debug, Serialize)]
pub struct HookPolicy {
    pub allow: HookAllow,
}

#[derive(Clone, Debug, Serialize)]
pub struct McpPolicy {
    pub rules: Vec<McpRule>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Policy {
    pub defaults: Defaults,
    pub tools: Tools,
    pub kubectl: KubectlPolicy,
    pub terraform: TerraformPolicy,
    pub shell: ShellPolicy,
    pub hook: HookPolicy,
    pub mcp: McpPolicy,
    pub sandbox: SandboxPolicy,
    pub examples: Vec<Example>,
    #[serde(skip)]
    pub source: PolicySource,
    /// Whether `examples` came from the user's file (else they are the built-in ones).
    #[serde(skip)]
    pub examples_are_users: bool,
}

/// Parses policy text into the as-written schema, with errors naming file, line and key.
pub fn parse_file(text: &str, name: &Path) -> Result<PolicyFile> {
    toml::from_str::<PolicyFile>(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
        let msg = e.message().trim().replace('\n', " ");
        Error::Config(format!("guard: policy {}: line {line}: {msg}", name.display()))
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len())).map_or(1, |t| t.matches('\n').count() + 1)
}

/// The line on which `needle` first appears, for errors found after parsing.
fn find_line(text: &str, needle: &str) -> usize {
    text.find(needle).map_or(0, |o| line_of(text, o))
}

fn builtin_file() -> Result<PolicyFile> {
    // The JSON twin is made from the same file at build time; fall back to the TOML if the two
    // ever disagree on shape, so a build problem can never change the policy.
    serde_json::from_str(DEFAULT_POLICY_JSON).or_else(|_| parse_file(DEFAULT_POLICY, Path::new("<built-in policies/default.toml>")))
}

/// The built-in policy alone.
pub fn builtin() -> Result<Policy> {
    let file = builtin_file()?;
    merge(file, PolicyFile::default(), PolicySource { file: None }, DEFAULT_POLICY)
}

/// Loads the policy from `path` (merged over the default), or the default when `None`, and
/// checks every example. `check_builtin_examples` also runs the built-in policy's examples.
pub fn load(path: Option<&Path>) -> Result<Policy> {
    let Some(path) = path else {
        // The compiled-in policy cannot change after the test suite checked its examples
        // (tests/integration/policy.rs and `guard doctor` run them), so the hot path skips them.
        return builtin();
    };
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config(format!("guard: policy {}: cannot read: {e}", path.display())))?;
    let user = parse_file(&text, path)?;
    if user.shell.as_ref().is_some_and(|s| s.builtin_rules.is_some()) {
        return Err(Error::Config(format!(
            "guard: policy {}: line {}: shell.builtin_rules belongs to guard's built-in policy; add [[shell.rules]] or list ids in shell.disabled_rules instead",
            path.display(),
            find_line(&text, "builtin_rules")
        )));
    }
    let policy = merge(builtin_file()?, user, PolicySource { file: Some(path.to_path_buf()) }, &text)?;
    check_disabled_rules(&policy, path, &text)?;
    // A policy's examples are its author's claims about it: the user's rules and examples run
    // here; the built-in ones describe the built-in policy and are checked against it.
    crate::classify::check_examples(&policy, &text, crate::classify::Scope::Users)?;
    Ok(policy)
}

/// Every id in `[shell] disabled_rules` must be a rule of the catalogue that can be turned off:
/// a typo would otherwise leave the rule on while the author believes it off (or the reverse).
fn check_disabled_rules(policy: &Policy, path: &Path, text: &str) -> Result<()> {
    for id in &policy.shell.disabled_rules {
        if let Some(why) = crate::catalogue::why_not_disableable(id, &policy.shell.builtin_rules)? {
            let line = match find_line(text, &format!("\"{id}\"")) {
                0 => find_line(text, id),
                n => n,
            };
            return Err(Error::Config(format!("guard: policy {}: line {line}: shell.disabled_rules: {why}", path.display())));
        }
    }
    Ok(())
}

/// The built-in policy with `text` merged over it, its examples not run: the policy a rule
/// catalogue entry's examples are checked against.
pub fn builtin_with(text: &str) -> Result<Policy> {
    let name = Path::new("<catalogue example policy>");
    merge(builtin_file()?, parse_file(text, name)?, PolicySource { file: Some(name.to_path_buf()) }, text)
}

fn merge(base: PolicyFile, user: PolicyFile, source: PolicySource, text: &str) -> Result<Policy> {
    let name = source.file.as_ref().map_or_else(|| "<built-in>".to_string(), |p| p.display().to_string());
    let missing = |key: &str| Error::Config(format!("guard: policy {name}: {key} is not set (the built-in default should set it)"));
    let (bd, ud) = (base.defaults.unwrap_or_default(), user.defaults.unwrap_or_default());
    let defaults = Defaults {
        plan_ttl: ud.plan_ttl.or(bd.plan_ttl).ok_or_else(|| missing("defaults.plan_ttl"))?,
        approval_ttl: ud.approval_ttl.or(bd.approval_ttl).ok_or_else(|| missing("defaults.approval_ttl"))?,
        request_ttl: ud.request_ttl.or(bd.request_ttl).ok_or_else(|| missing("defaults.request_ttl"))?,
        max_lease_ttl: ud.max_lease_ttl.or(bd.max_lease_ttl).ok_or_else(|| missing("defaults.max_lease_ttl"))?,
    };
    let (bt, ut) = (base.tools.unwrap_or_default(), user.tools.unwrap_or_default());
    let tools = Tools { terraform: ut.terraform.or(bt.terraform), kubectl: ut.kubectl.or(bt.kubectl), bash: ut.bash.or(bt.bash) };
    for (key, p) in [("tools.terraform", &tools.terraform), ("tools.kubectl", &tools.kubectl), ("tools.bash", &tools.bash)] {
        if p.as_ref().is_some_and(|p| !p.is_absolute()) {
            return Err(Error::Config(format!(
                "guard: policy {name}: line {}: {key} must be an absolute path",
                find_line(text, key.trim_start_matches("tools."))
            )));
        }
    }
    let (bk, uk) = (base.kubectl.unwrap_or_default(), user.kubectl.unwrap_or_default());
    let kubectl = KubectlPolicy {
        protected_namespaces: uk.protected_namespaces.or(bk.protected_namespaces).unwrap_or_default(),
        contexts: uk.contexts.or(bk.contexts).unwrap_or_default(),
    };
    let (btf, utf) = (base.terraform.unwrap_or_default(), user.terraform.unwrap_or_default());
    let terraform = TerraformPolicy {
        protected_types: utf.protected_types.or(btf.protected_types).unwrap_or_default(),
        protected_addresses: utf.protected_addresses.or(btf.protected_addresses).unwrap_or_default(),
        apply: utf.apply.or(btf.apply).unwrap_or(Decision::Escalate),
        state_rewrite: utf.state_rewrite.or(btf.state_rewrite).unwrap_or(Decision::Escalate),
        workspaces: utf.workspaces.or(btf.workspaces).unwrap_or_default(),
    };
    let (bs, us) = (base.shell.unwrap_or_default(), user.shell.unwrap_or_default());
    let mut shell = ShellPolicy {
        disabled_rules: us.disabled_rules.or(bs.disabled_rules).unwrap_or_default().into_iter().collect(),
        rules: us.rules.or(bs.rules).unwrap_or_default(),
        builtin_rules: bs.builtin_rules.unwrap_or_default(),
        // Per program: the user's list replaces the built-in one, other programs keep theirs.
        reads: ProgramLists::merge(bs.reads.unwrap_or_default(), us.reads.unwrap_or_default()),
        subcommands: ProgramLists::merge(bs.subcommands.unwrap_or_default(), us.subcommands.unwrap_or_default()),
        index: RuleIndex::default(),
    };
    let mut seen = BTreeSet::new();
    for r in shell.builtin_rules.iter().chain(&shell.rules) {
        if r.id.trim().is_empty() || r.program.trim().is_empty() || r.message.trim().is_empty() {
            return Err(Error::Config(format!(
                "guard: policy {name}: line {}: a shell rule needs a non-empty id, program and message",
                find_line(text, &format!("\"{}\"", r.id))
            )));
        }
        if !seen.insert(r.id.clone()) {
            return Err(Error::Config(format!(
                "guard: policy {name}: line {}: shell rule id {:?} is used twice",
                find_line(text, &format!("\"{}\"", r.id)),
                r.id
            )));
        }
    }
    shell.build_index();
    let (bx, ux) = (base.sandbox.unwrap_or_default(), user.sandbox.unwrap_or_default());
    let sandbox = SandboxPolicy {
        mode: ux.mode.or(bx.mode).unwrap_or(SandboxMode::Enforce),
        writable: ux.writable.or(bx.writable).unwrap_or_default(),
        secrets: ux.secrets.or(bx.secrets).unwrap_or_default(),
        network_programs: ux.network_programs.or(bx.network_programs).unwrap_or_default(),
        readable: ux.readable.or(bx.readable).unwrap_or_default(),
        env_remove: ux.env_remove.or(bx.env_remove).unwrap_or_default(),
        agents: ux.agents.or(bx.agents).unwrap_or_default(),
        hidden_sockets: ux.hidden_sockets.or(bx.hidden_sockets).unwrap_or_default(),
        tool_credentials: ux.tool_credentials.or(bx.tool_credentials).unwrap_or_default(),
        expanded: std::sync::OnceLock::new(),
    };
    for (key, list) in [
        ("sandbox.writable", &sandbox.writable),
        ("sandbox.secrets", &sandbox.secrets),
        ("sandbox.readable", &sandbox.readable),
        ("sandbox.tool_credentials", &sandbox.tool_credentials),
    ] {
        if let Some(bad) = list.iter().find(|p| !(p.starts_with('/') || p.starts_with("~/"))) {
            return Err(Error::Config(format!(
                "guard: policy {name}: line {}: {key}: {bad:?} must be an absolute path or start with ~/",
                find_line(text, bad)
            )));
        }
    }
    let examples_are_users = user.examples.is_some();
    let examples = user.examples.or(base.examples).unwrap_or_default();
    for ex in &examples {
        let ok = match ex.tool {
            ToolName::Shell => ex.line.is_some() && ex.args.is_none(),
            _ => ex.args.is_some() && ex.line.is_none(),
        };
        if !ok {
            return Err(Error::Config(format!(
                "guard: policy {name}: line {}: a {} example needs {}",
                find_line(text, "[[examples]]"),
                ex.tool.as_str(),
                if ex.tool == ToolName::Shell { "`line` (and no `args`)" } else { "`args` (and no `line`)" }
            )));
        }
    }
    let hook = HookPolicy { allow: user.hook.and_then(|h| h.allow).or(base.hook.and_then(|h| h.allow)).unwrap_or_default() };
    let mcp = McpPolicy { rules: user.mcp.and_then(|m| m.rules).or(base.mcp.and_then(|m| m.rules)).unwrap_or_default() };
    let mut seen = BTreeSet::new();
    for r in &mcp.rules {
        let line = find_line(text, &format!("\"{}\"", r.id));
        if r.id.trim().is_empty() || r.message.trim().is_empty() || r.server.is_empty() || r.tool.is_empty() {
            return Err(Error::Config(format!(
                "guard: policy {name}: line {line}: an mcp rule needs a non-empty id, server, tool and message"
            )));
        }
        if !seen.insert(r.id.clone()) {
            return Err(Error::Config(format!("guard: policy {name}: line {line}: mcp rule id {:?} is used twice", r.id)));
        }
    }
    Ok(Policy { defaults, tools, kubectl, terraform, shell, hook, mcp, sandbox, examples, source, examples_are_users })
}

impl Policy {
    /// The effective policy as TOML, for `guard policy show`.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).map_err(|e| Error::Internal(format!("cannot print policy: {e}")))
    }

    /// The line of `text` where an example appears, for error messages.
    pub fn example_line(text: &str, needle: &str) -> usize {
        find_line(text, needle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compiled form of each built-in rule's `program` answers as `glob` does, on the names
    /// the rules list, near misses of them and the names of every other rule.
    #[test]
    fn program_patterns_answer_as_glob() {
        let policy = builtin().unwrap_or_else(|e| unreachable!("{e}"));
        let rules = &policy.shell.builtin_rules;
        let mut names: Vec<String> = vec![String::new(), "{".into(), "}".into(), ",".into()];
        for r in rules {
            names.push(r.program.clone());
            for n in r.program.trim_matches(['{', '}']).split(',') {
                names.extend([n.to_string(), format!("{n}x"), format!("x{n}"), n.get(1..).unwrap_or_default().to_string()]);
            }
        }
        let mut one_of = 0;
        let odd: Vec<Rule> = rules.first().map(|r| Rule { program: "{a,}".into(), ..r.clone() }).into_iter().collect();
        for r in rules.iter().chain(&odd) {
            let pat = ProgramPattern::of(&r.program);
            one_of += usize::from(matches!(pat, ProgramPattern::OneOf(_)));
            for n in &names {
                assert_eq!(pat.matches(&r.program, n), glob(&r.program, n), "{} against {n:?}", r.program);
            }
        }
        assert!(one_of >= 5);
    }

    /// `SecretPaths::holds` answers as the list walk it replaced, on spellings that compare
    /// equal component-wise but not byte-wise (`/./`, `//`, a trailing `/`), near misses
    /// (`.sshx`), the readable exceptions, relative paths and an empty entry.
    #[test]
    fn secret_paths_answer_as_the_list_walk() {
        let policy = builtin().unwrap_or_else(|e| unreachable!("{e}"));
        let home = Path::new("/home/user");
        let mut odd = policy.sandbox.clone();
        odd.secrets.push(String::new());
        odd.expanded = std::sync::OnceLock::new();
        let paths = [
            "/home/user/.ssh",
            "/home/user/.ssh/",
            "/home/user/.ssh/id_rsa",
            "/home/user/./.ssh/id_rsa",
            "/home/user//.ssh",
            "/home/user/.sshx",
            "/home/user/.ssh/known_hosts",
            "/home/user/.ssh//known_hosts",
            "/home/user/.aws/credentials",
            "/home/user",
            "/",
            "/etc/passwd",
            "/home/user/project/.ssh",
            "/home/user/.ssh/../x",
            "rel/.ssh",
            "",
            "/home/user/.docker/config.json",
            "/home/user/.docker/config.jsonx",
            "/home/user/.local/state/guard/key",
        ];
        for sb in [&policy.sandbox, &odd] {
            let sp = sb.secret_paths(Some(home));
            let expand = |s: &String| crate::sandbox::expand(s, Some(home));
            let secrets: Vec<PathBuf> = sb.secrets.iter().filter_map(expand).collect();
            let readable: Vec<PathBuf> = sb.readable.iter().filter_map(expand).collect();
            for p in paths.iter().map(Path::new) {
                let want = secrets.iter().any(|s| p.starts_with(s)) && !readable.iter().any(|r| r == p);
                assert_eq!(sp.holds(p), want, "{}", p.display());
            }
            // Another home is expanded afresh, not answered from the first one.
            assert!(sb.secret_paths(Some(Path::new("/root"))).holds(Path::new("/root/.ssh/id_rsa")));
            assert_eq!(sb.secret_paths(Some(home)).holds(Path::new("/root/.ssh/id_rsa")), sb.secrets.iter().any(String::is_empty));
        }
    }
}
