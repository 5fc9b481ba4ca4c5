//! `guard mcp`: an MCP server on stdio (the official Rust SDK, `rmcp`) that gives MCP clients
//! guard's tools: `shell`, `terraform_plan`, `terraform_apply`, `kubectl`, `explain` and
//! `request_status`.
//!
//! Every tool call runs guard's own binary as a child (`guard shell -c LINE`, `guard terraform
//! plan`, …), so it goes through exactly the pipeline the CLI does: decision, audit, approvals,
//! plan ids and containment, with nothing of it re-implemented here. The child's exit code
//! becomes the tool result: 0 is a result, 75 is a tool error naming the `guard approve`
//! command a human runs, anything else is a tool error with guard's message.
//!
//! It must never expose an approval, rejection or lease tool, never hand the child a terminal
//! (approvals need a human at a real one), and never build a shell string from arguments.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use rmcp::ErrorData as McpError;
use rmcp::ServiceExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, Implementation, ListToolsResult, PaginatedRequestParams, ServerCapabilities,
    ServerInfo, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::state::Paths;

/// The longest `wait` a tool call may ask for: MCP clients give up on calls long before a
/// request's TTL, and a human who approves later can have the agent call again.
pub const MAX_WAIT_SECS: u64 = 600;

/// Most bytes of a child's stdout or stderr returned in a tool result.
const MAX_OUTPUT: usize = 256 * 1024;

/// The server: how to run guard itself.
#[derive(Clone)]
struct GuardServer {
    exe: Arc<PathBuf>,
    /// Global flags every child gets, so it uses this server's state dir and policy.
    global: Arc<Vec<String>>,
}

/// Serves MCP on stdin/stdout until the client closes the connection.
pub fn serve(paths: &Paths) -> Result<u8> {
    let exe = crate::exec::own_exe().map(Path::to_path_buf).map_err(|e| Error::Internal(format!("cannot find guard's own binary: {e}")))?;
    let mut global = vec![format!("--home={}", paths.home.display())];
    if let Some(p) = &paths.policy {
        global.push(format!("--policy={}", p.display()));
    }
    let server = GuardServer { exe: Arc::new(exe), global: Arc::new(global) };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the MCP runtime: {e}")))?;
    rt.block_on(async move {
        let running =
            server.serve(rmcp::transport::stdio()).await.map_err(|e| Error::Internal(format!("MCP initialisation failed: {e}")))?;
        running.waiting().await.map_err(|e| Error::Internal(format!("the MCP server stopped: {e}")))?;
        Ok(0)
    })
}

fn schema(v: Value) -> Arc<Map<String, Value>> {
    Arc::new(v.as_object().cloned().unwrap_or_default())
}

fn wait_schema() -> Value {
    json!({"type": "string", "description": format!("Optional: wait up to this long (e.g. \"2m\", at most {MAX_WAIT_SECS}s) for a human's decision instead of returning the approve command at once")})
}

/// The tools, with their input schemas. There is no approval tool, on purpose.
pub fn tools() -> Vec<Tool> {
    vec![
        Tool::new(
            "shell",
            "Run a bash line through guard (`guard shell -c LINE`): allowed lines run, others return the `guard approve` command for a human, or are blocked.",
            schema(json!({
                "type": "object",
                "properties": {
                    "line": {"type": "string", "description": "The bash line"},
                    "cwd": {"type": "string", "description": "Absolute working directory (default: the server's)"},
                    "wait": wait_schema(),
                },
                "required": ["line"],
            })),
        ),
        Tool::new(
            "terraform_plan",
            "Plan through guard (`guard terraform plan`): returns the plan record with its plan id, summary, expiry and whether apply needs a human.",
            schema(json!({
                "type": "object",
                "properties": {
                    "dir": {"type": "string", "description": "Absolute terraform working directory (-chdir)"},
                    "destroy": {"type": "boolean", "description": "Plan a destroy (-destroy)"},
                    "args": {"type": "array", "items": {"type": "string"}, "description": "More terraform plan flags (e.g. -var=…, -target=…)"},
                },
            })),
        ),
        Tool::new(
            "terraform_apply",
            "Apply one plan by id through guard (`guard terraform apply p-…`): only that exact, unexpired, unused plan, with a human's approval where policy asks.",
            schema(json!({
                "type": "object",
                "properties": {
                    "plan_id": {"type": "string", "description": "The plan id from terraform_plan (p-…)"},
                    "wait": wait_schema(),
                },
                "required": ["plan_id"],
            })),
        ),
        Tool::new(
            "kubectl",
            "Run kubectl through guard (`guard kubectl ARGS…`): reads run, mutations return the `guard approve` command for a human, protected namespaces are blocked.",
            schema(json!({
                "type": "object",
                "properties": {
                    "args": {"type": "array", "items": {"type": "string"}, "description": "kubectl's arguments, e.g. [\"get\", \"pods\", \"-n\", \"web\"]"},
                    "cwd": {"type": "string", "description": "Absolute working directory (for -f paths)"},
                    "wait": wait_schema(),
                },
                "required": ["args"],
            })),
        ),
        Tool::new(
            "explain",
            "What guard would decide for a command, and why (`guard explain --json`). Never runs anything.",
            schema(json!({
                "type": "object",
                "properties": {
                    "tool": {"type": "string", "enum": ["shell", "kubectl", "terraform"]},
                    "line": {"type": "string", "description": "For shell: the bash line"},
                    "args": {"type": "array", "items": {"type": "string"}, "description": "For kubectl and terraform: the arguments"},
                },
                "required": ["tool"],
            })),
        ),
        Tool::new(
            "request_status",
            "The status of a request (r-…) or plan (p-…): pending, approved, rejected, used, expired.",
            schema(json!({
                "type": "object",
                "properties": {"id": {"type": "string", "description": "r-… or p-…"}},
                "required": ["id"],
            })),
        ),
    ]
}

impl rmcp::ServerHandler for GuardServer {
    fn get_info(&self) -> ServerInfo {
        ServerInfo::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("guard", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "guard decides every command: allow (runs), escalate (a human must run the `guard approve` command the error names, in their own terminal), or block. There is no way to approve from here.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<CallToolResult, McpError> {
        let args = request.arguments.unwrap_or_default();
        let plan = match plan_call(&request.name, &args) {
            Ok(p) => p,
            Err(msg) => return Ok(CallToolResult::error(vec![ContentBlock::text(format!("guard: {msg}"))])),
        };
        let exe = self.exe.clone();
        let global = self.global.clone();
        let tool = request.name.to_string();
        let run = tokio::task::spawn_blocking(move || run_child(&exe, &global, &plan, &tool)).await;
        match run {
            Ok(result) => Ok(result),
            Err(e) => Err(McpError::internal_error(format!("guard: the tool call did not finish: {e}"), None)),
        }
    }
}

/// One child run of guard: argv after the global flags, where, and for `request_status`, the id
/// to pick from the listing.
#[derive(Debug, PartialEq)]
pub struct ChildCall {
    pub argv: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub pick: Option<String>,
}

fn string_arg(args: &Map<String, Value>, key: &str) -> std::result::Result<Option<String>, String> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{key}` must be a string")),
    }
}

fn list_arg(args: &Map<String, Value>, key: &str) -> std::result::Result<Vec<String>, String> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => {
            a.iter().map(|v| v.as_str().map(str::to_string).ok_or_else(|| format!("`{key}` must be a list of strings"))).collect()
        }
        Some(_) => Err(format!("`{key}` must be a list of strings")),
    }
}

fn dir_arg(args: &Map<String, Value>, key: &str) -> std::result::Result<Option<PathBuf>, String> {
    match string_arg(args, key)? {
        None => Ok(None),
        Some(d) if Path::new(&d).is_absolute() && Path::new(&d).is_dir() => Ok(Some(PathBuf::from(d))),
        Some(d) => Err(format!("`{key}` must be an absolute path to an existing directory, not {d:?}")),
    }
}

/// `--wait=…`, bounded by [`MAX_WAIT_SECS`].
fn wait_flag(args: &Map<String, Value>) -> std::result::Result<Option<String>, String> {
    let Some(w) = string_arg(args, "wait")? else { return Ok(None) };
    let ttl = crate::policy::Ttl::parse(&w).map_err(|e| format!("`wait`: {e}"))?;
    let secs = (ttl.millis() / 1000).clamp(1, MAX_WAIT_SECS);
    Ok(Some(format!("--wait={secs}s")))
}

fn is_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|h| !h.is_empty() && h.len() <= 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A tool call → the guard command line that does it. Pure; refuses what is malformed.
pub fn plan_call(tool: &str, args: &Map<String, Value>) -> std::result::Result<ChildCall, String> {
    let mut argv = Vec::new();
    let mut cwd = None;
    let mut pick = None;
    match tool {
        "shell" => {
            let line = string_arg(args, "line")?.ok_or("shell needs `line`")?;
            argv.extend(wait_flag(args)?);
            argv.extend(["shell".into(), "-c".into(), line]);
            cwd = dir_arg(args, "cwd")?;
        }
        "kubectl" => {
            let a = list_arg(args, "args")?;
            if a.is_empty() {
                return Err("kubectl needs `args`".into());
            }
            argv.extend(wait_flag(args)?);
            argv.push("kubectl".into());
            argv.extend(a);
            cwd = dir_arg(args, "cwd")?;
        }
        "terraform_plan" => {
            argv.push("terraform".into());
            if let Some(d) = dir_arg(args, "dir")? {
                argv.push(format!("-chdir={}", d.display()));
            }
            argv.push("plan".into());
            if args.get("destroy").and_then(Value::as_bool) == Some(true) {
                argv.push("-destroy".into());
            }
            argv.extend(list_arg(args, "args")?);
            // Colour codes are noise in a tool result; the record is the first block.
            argv.extend(["-no-color".into(), "--json".into()]);
        }
        "terraform_apply" => {
            let id = string_arg(args, "plan_id")?.ok_or("terraform_apply needs `plan_id`")?;
            if !is_id(&id, "p-") {
                return Err(format!("{id:?} is not a plan id (p-…)"));
            }
            argv.extend(wait_flag(args)?);
            argv.extend(["terraform".into(), "apply".into(), id]);
        }
        "explain" => {
            let t = string_arg(args, "tool")?.ok_or("explain needs `tool`")?;
            argv.extend(["explain".into(), "--json".into()]);
            match t.as_str() {
                "shell" => {
                    let line = string_arg(args, "line")?.ok_or("explain shell needs `line`")?;
                    argv.extend(["shell".into(), line]);
                }
                "kubectl" | "terraform" => {
                    argv.push(t.clone());
                    argv.extend(list_arg(args, "args")?);
                }
                other => return Err(format!("explain: unknown tool {other:?} (shell, kubectl or terraform)")),
            }
        }
        "request_status" => {
            let id = string_arg(args, "id")?.ok_or("request_status needs `id`")?;
            if is_id(&id, "r-") {
                argv.extend(["requests".into(), "--json".into(), "--all".into()]);
            } else if is_id(&id, "p-") {
                argv.extend(["terraform".into(), "plans".into(), "--json".into()]);
            } else {
                return Err(format!("{id:?} is not a request (r-…) or plan (p-…) id"));
            }
            pick = Some(id);
        }
        other => return Err(format!("unknown tool {other:?}")),
    }
    Ok(ChildCall { argv, cwd, pick })
}

fn bounded(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= MAX_OUTPUT {
        return text.into_owned();
    }
    let mut cut = MAX_OUTPUT;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}\n[guard: output cut at {MAX_OUTPUT} bytes]", text.get(..cut).unwrap_or_default())
}

/// Runs the child and maps its exit code to a tool result.
fn run_child(exe: &Path, global: &[String], call: &ChildCall, tool: &str) -> CallToolResult {
    let mut cmd = Command::new(exe);
    cmd.args(global).args(&call.argv).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(d) = &call.cwd {
        cmd.current_dir(d);
    }
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => return CallToolResult::error(vec![ContentBlock::text(format!("guard: cannot run guard for {tool}: {e}"))]),
    };
    let code = out.status.code().unwrap_or(70);
    let (stdout, stderr) = (bounded(&out.stdout), bounded(&out.stderr));
    if let (Some(id), 0) = (&call.pick, code) {
        return status_of(&stdout, id);
    }
    // stdout and stderr as separate blocks: with `--json` the first block is the document alone.
    let mut blocks: Vec<ContentBlock> =
        [&stdout, &stderr].iter().filter(|t| !t.is_empty()).map(|t| ContentBlock::text(t.as_str())).collect();
    match code {
        0 => {
            if blocks.is_empty() {
                blocks.push(ContentBlock::text("(no output)"));
            }
            CallToolResult::success(blocks)
        }
        75 => {
            blocks.push(ContentBlock::text(format!(
                "guard: exit 75: a human must approve in their own terminal with the `guard approve` command above; then call {tool} again with the same arguments"
            )));
            CallToolResult::error(blocks)
        }
        77 => {
            blocks.push(ContentBlock::text("guard: exit 77: refused"));
            CallToolResult::error(blocks)
        }
        n => {
            blocks.push(ContentBlock::text(format!("guard: exit {n}")));
            CallToolResult::error(blocks)
        }
    }
}

/// Picks one id's record from `guard requests --json --all` or `guard terraform plans --json`.
fn status_of(listing: &str, id: &str) -> CallToolResult {
    let found = listing
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .flat_map(|v| match v {
            Value::Array(a) => a,
            other => vec![other],
        })
        .find(|v| v.get("id").and_then(Value::as_str) == Some(id));
    match found {
        Some(v) => CallToolResult::success(vec![ContentBlock::text(v.to_string())]),
        None => CallToolResult::error(vec![ContentBlock::text(format!("guard: no request or plan {id}"))]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn no_tool_approves_anything() {
        let names: Vec<String> = tools().iter().map(|t| t.name.to_string()).collect();
        assert_eq!(names, ["shell", "terraform_plan", "terraform_apply", "kubectl", "explain", "request_status"]);
        assert!(names.iter().all(|n| !n.contains("approve") && !n.contains("reject") && !n.contains("lease")));
    }

    fn argv(tool: &str, v: Value) -> Vec<String> {
        plan_call(tool, &args(v)).map(|c| c.argv).unwrap_or_else(|e| vec![format!("error: {e}")])
    }

    #[test]
    fn calls_become_guard_command_lines() {
        assert_eq!(argv("shell", json!({"line": "ls; rm -rf /", "wait": "2m"})), ["--wait=120s", "shell", "-c", "ls; rm -rf /"]);
        assert_eq!(argv("terraform_apply", json!({"plan_id": "p-0a1b", "wait": "9h"})), ["--wait=600s", "terraform", "apply", "p-0a1b"]);
        assert_eq!(argv("terraform_plan", json!({"destroy": true})), ["terraform", "plan", "-destroy", "-no-color", "--json"]);
        assert_eq!(argv("explain", json!({"tool": "kubectl", "args": ["get", "pods"]})), ["explain", "--json", "kubectl", "get", "pods"]);
    }

    #[test]
    fn malformed_calls_are_refused_before_anything_runs() {
        assert!(plan_call("terraform_apply", &args(json!({"plan_id": "-auto-approve"}))).is_err());
        assert!(plan_call("request_status", &args(json!({"id": "../../etc"}))).is_err());
        assert!(plan_call("shell", &args(json!({"line": 3}))).is_err());
        assert!(plan_call("shell", &args(json!({"line": "ls", "cwd": "relative"}))).is_err());
        assert!(plan_call("approve", &args(json!({"id": "r-00"}))).is_err());
        assert!(plan_call("kubectl", &args(json!({"args": []}))).is_err());
    }
}
