//! clap definitions only: what guard accepts on its command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "guard",
    version = env!("GUARD_VERSION"),
    about = "Stands between AI agents and terraform, kubectl and the shell: allow, escalate or block, every decision audited.",
    after_help = "Exit codes: the tool's own when it ran; 77 blocked; 75 needs a human approval; 64 usage (also `guard` alone, which prints this help to stderr); 65 bad data; 78 bad policy; 70 internal error. Agent hooks exit 2 on any failure.\n--json prints one JSON document, or JSON Lines (one object per line) for lists: requests, lease list, terraform plans, audit tail."
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
    /// Run terraform through guard: `plan`, `apply <plan_id>`, `plans`; other subcommands pass through.
    #[command(
        disable_help_flag = true,
        override_usage = "guard terraform plan [-chdir=DIR] [-destroy] [--json] [terraform plan flags…]\n       guard terraform apply <plan_id>\n       guard terraform plans [--json]\n       guard terraform <other terraform subcommand> …",
        long_about = "Run terraform through guard.\n\n  plan            runs `terraform plan` into a guard-owned plan file, hashes it and prints a plan id (p-…),\n                  the change summary, its expiry and whether apply needs a human (`guard approve p-…`).\n                  --json prints only the plan record on stdout (terraform's own text goes to stderr).\n  apply <plan_id> applies exactly that plan: unexpired, unused, unchanged, same dir and workspace,\n                  approved when policy asks. Raw `apply`, `destroy` and `-auto-approve` are blocked.\n  plans           lists plan records and their status (--json: JSON Lines, one per plan).\n\nRead-only subcommands (validate, fmt -check, show, output, state list|show, providers, version, graph)\nand init pass through to the real terraform. `guard terraform --help` prints this; for terraform's\nown help run `terraform -help` itself (guard does not wrap help)."
    )]
    Terraform(ToolArgs),
    /// Run kubectl through guard: reads pass, mutations need a human, protected namespaces are blocked.
    #[command(
        disable_help_flag = true,
        override_usage = "guard kubectl <kubectl arguments…>",
        long_about = "Run kubectl through guard. Read verbs pass to the real kubectl; mutating verbs, exec/attach/cp/port-forward/debug/proxy\nand secret reads need a human approval (exit 75 with the `guard approve r-…` command); mutations in protected\nnamespaces and cluster-wide destruction are blocked (exit 77). `guard kubectl --help` prints this."
    )]
    Kubectl(ToolArgs),
    /// Run a bash line through guard: `guard shell -c LINE` (also -lc, -l -c, -e -c).
    #[command(
        disable_help_flag = true,
        override_usage = "guard shell [--network] [--write DIR]... -c LINE   (also -lc LINE, -l -c LINE, -e -c LINE)",
        long_about = "Run a bash line through guard. The line is parsed as bash does; every command in it is classified\n(allow / escalate / block, the most severe wins); if allowed it runs with the real bash, contained, passing the\nterminal, stdin, exit code and Ctrl-C through. `--network` and `--write DIR` ask for more than the line's\nsandbox (the network; a tree outside the project): a human approves each, bound to the request.\n`guard shell --help` prints this (it never runs bash)."
    )]
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
    /// Self-tests and environment checks (exit 0 when nothing failed; --json: one JSON document).
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
    /// List pending requests (--json: JSON Lines, one per request).
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
    /// Start an agent (or any program) contained for its whole life, guard outside as its broker:
    /// `guard run -- claude`. Humans approve from another terminal.
    #[command(disable_help_flag = true)]
    Run(ToolArgs),
    /// An MCP server on stdio: guard's tools for MCP clients (no approval tool).
    Mcp,
    /// Print a shell completion script: `guard completions bash > /etc/bash_completion.d/guard`.
    Completions { shell: clap_complete::Shell },
    /// Print guard's man page (roff): `guard man > ~/.local/share/man/man1/guard.1`.
    Man,
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
    /// Print the effective policy (TOML; --json: one JSON document).
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Validate a policy file (exit 0, or 78 with the problem; --json: one JSON document).
    Check {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// List every rule guard can emit: id, default decision, integrity flag, summary
    /// (a table; `off` marks rules the effective policy turns off).
    Rules {
        /// Print one JSON document instead: `{"rules": [{id, decision, integrity, summary,
        /// match, not_match, disabled, …}]}`.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain (exit 0, or 65 naming the first bad line; --json: one JSON document).
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// Show recent entries (--json: the records as JSON Lines, one per line).
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
        /// kubectl context the lease is for (default: the current one); its cluster server is bound too.
        #[arg(long)]
        context: Option<String>,
        #[arg(long)]
        dir: Option<PathBuf>,
        #[arg(long, default_value = "30m")]
        ttl: String,
        #[arg(long)]
        uses: Option<u64>,
    },
    /// List leases (--json: JSON Lines, one per lease).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a lease.
    Revoke { id: String },
}
