//! clap definitions only: what guard accepts on its command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "guard",
    version,
    about = "Stands between AI agents and terraform, kubectl and the shell: allow, escalate or block, every decision audited."
)]
pub struct Cli {
    /// State directory (audit log, plans, requests, approvals, leases, locks).
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Policy file (merged over the built-in default).
    #[arg(long, global = true, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// On escalation, wait for a human's decision (up to DURATION, default the request TTL)
    /// instead of exiting 75.
    #[arg(long, value_name = "DURATION", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub wait: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run terraform through guard.
    #[command(disable_help_flag = true)]
    Terraform(ToolArgs),
    /// Run kubectl through guard.
    #[command(disable_help_flag = true)]
    Kubectl(ToolArgs),
    /// Run a bash line through guard: `guard shell -c LINE` (also -lc, -l -c, -e -c).
    #[command(disable_help_flag = true)]
    Shell(ToolArgs),
    /// Decide, print, never execute, never write state.
    Explain(ExplainArgs),
    /// Show or check the policy.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Verify or show the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Self-tests and environment checks (exit 0 when nothing failed).
    Doctor {
        #[arg(long)]
        json: bool,
    },
    /// Approve a pending request (interactive; needs the approver passphrase).
    Approve { id: String },
    /// Reject a pending request (interactive; needs the approver passphrase).
    Reject {
        id: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// List pending requests.
    Requests {
        #[arg(long)]
        json: bool,
        /// Include decided, used and expired requests.
        #[arg(long)]
        all: bool,
    },
    /// The approver key.
    Approver {
        #[command(subcommand)]
        command: ApproverCommand,
    },
    /// Pre-approve one rule's escalations within a scope for a while.
    Lease {
        #[command(subcommand)]
        command: LeaseCommand,
    },
    /// An MCP server on stdio: guard's tools for MCP clients (no approval tool).
    Mcp,
    /// Agent hooks.
    Hook {
        #[command(subcommand)]
        command: HookCommand,
    },
}

#[derive(Debug, Args)]
pub struct ToolArgs {
    /// The tool's own arguments, passed through unchanged.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub args: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Print the decision as JSON.
    #[arg(long)]
    pub json: bool,
    /// Read JSON requests from stdin, one per line; write one decision per line.
    #[arg(long, conflicts_with = "json")]
    pub jsonl: bool,
    #[command(subcommand)]
    pub tool: Option<ExplainTool>,
}

#[derive(Debug, Subcommand)]
pub enum ExplainTool {
    /// Explain a bash line.
    Shell { line: String },
    /// Explain kubectl arguments.
    #[command(disable_help_flag = true)]
    Kubectl(ToolArgs),
    /// Explain terraform arguments.
    #[command(disable_help_flag = true)]
    Terraform(ToolArgs),
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the effective policy.
    Show,
    /// Validate a policy file (exit 0, or 78 with the problem).
    Check { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain (exit 0, or 65 naming the first bad line).
    Verify,
    /// Show recent entries.
    Tail {
        #[arg(short = 'n', default_value_t = 20)]
        n: usize,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Claude Code PreToolUse hook: reads the hook JSON on stdin; no output for what guard allows, ask or deny otherwise.
    Claude(HookArgs),
    /// Codex CLI PreToolUse hook: no output, or deny (Codex has no allow or ask).
    Codex(HookArgs),
    /// Cursor beforeShellExecution / beforeMCPExecution hook: {} or permission allow/ask/deny.
    Cursor(HookArgs),
    /// Gemini CLI BeforeTool hook: {} or decision allow/deny (Gemini has no ask).
    Gemini(HookArgs),
}

#[derive(Debug, Args)]
pub struct HookArgs {
    /// Answer `deny` (naming the `guard approve` command) instead of `ask` for escalations.
    #[arg(long)]
    pub unattended: bool,
}

#[derive(Debug, Subcommand)]
pub enum ApproverCommand {
    /// Create the approver key from a passphrase (interactive).
    Init,
    /// Replace the approver key (interactive; needs the current passphrase).
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum LeaseCommand {
    /// Grant a lease (interactive; needs the approver passphrase).
    Grant {
        rule: String,
        #[arg(long)]
        namespace: Option<String>,
        #[arg(long)]
        dir: Option<PathBuf>,
        #[arg(long, default_value = "30m")]
        ttl: String,
        #[arg(long)]
        uses: Option<u64>,
    },
    /// List leases.
    List,
    /// Revoke a lease.
    Revoke { id: String },
}
