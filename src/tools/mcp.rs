//! MCP tool calls (`mcp__<server>__<tool>` in the agents' hooks) → verdict. Pure: the server
//! name, the tool name and the argument values in, a decision out.
//!
//! guard cannot see inside an MCP server, so it judges by what the call says: user rules
//! (`[[mcp.rules]]`) first, then two built-in rules. A tool whose name reads like a mutation
//! (`resources_delete`, `apply_plan`, `exec`) escalates (`mcp.mutating-tool`); a mutating call
//! whose arguments name a protected namespace blocks (`mcp.protected-namespace`). Tools whose
//! names read like reads (`get`, `list`, `describe`, …) get no opinion. A user rule with
//! `decision = "allow"` overrides the built-in escalation for what it matches, never a block.

use serde_json::{Map, Value};

use crate::decision::{Decision, Verdict};
use crate::policy::{McpRule, Policy, glob};

/// Words in a tool name that mean it changes something.
const MUTATING: &[&str] = &[
    "add",
    "annotate",
    "apply",
    "approve",
    "attach",
    "chmod",
    "chown",
    "commit",
    "cordon",
    "create",
    "delete",
    "deploy",
    "destroy",
    "disable",
    "drain",
    "drop",
    "edit",
    "enable",
    "erase",
    "eval",
    "evict",
    "exec",
    "execute",
    "flush",
    "grant",
    "import",
    "insert",
    "install",
    "invoke",
    "kill",
    "label",
    "merge",
    "modify",
    "move",
    "nuke",
    "patch",
    "post",
    "publish",
    "purge",
    "push",
    "put",
    "reboot",
    "remove",
    "rename",
    "replace",
    "reset",
    "restart",
    "revoke",
    "rm",
    "rollback",
    "rollout",
    "rotate",
    "run",
    "scale",
    "send",
    "set",
    "shell",
    "shutdown",
    "start",
    "stop",
    "taint",
    "terminate",
    "truncate",
    "uninstall",
    "update",
    "upgrade",
    "upload",
    "upsert",
    "wipe",
    "write",
];

/// Splits `resources_delete`, `deleteNamespace`, `kube-exec` into lower-case words.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether a tool's name reads like it changes something.
#[must_use]
pub fn looks_mutating(tool: &str) -> bool {
    words(tool).iter().any(|w| MUTATING.contains(&w.as_str()))
}

/// A value as a rule's glob sees it: strings as they are, anything else as JSON.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn rule_matches(rule: &McpRule, server: &str, tool: &str, args: &Map<String, Value>) -> bool {
    glob(&rule.server, server)
        && glob(&rule.tool, tool)
        && rule.args.iter().all(|(k, pat)| args.get(k).is_some_and(|v| glob(pat, &shown(v))))
}

/// Splits `mcp__server__tool` into (server, tool). Server names may not contain `__`; tool names may.
#[must_use]
pub fn split_name(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix("mcp__")?;
    let (server, tool) = rest.split_once("__")?;
    (!server.is_empty() && !tool.is_empty()).then_some((server, tool))
}

/// The protected namespace a call's arguments name, if any: a `namespace`-like argument, or a
/// `Namespace` object's name, at any depth (arguments may wrap the object: `{resource: {…}}`).
fn protected_namespace(args: &Map<String, Value>, policy: &Policy) -> Option<String> {
    fn walk(m: &Map<String, Value>, protected: &dyn Fn(&str) -> bool, depth: usize) -> Option<String> {
        for (k, v) in m {
            let key = k.to_ascii_lowercase();
            if let Value::String(s) = v
                && matches!(key.as_str(), "namespace" | "ns" | "namespace_name" | "namespacename")
                && protected(s)
            {
                return Some(s.clone());
            }
        }
        let kind = ["kind", "resource", "resource_type", "resourcetype", "type"]
            .iter()
            .find_map(|k| m.iter().find(|(a, _)| a.eq_ignore_ascii_case(k)).and_then(|(_, v)| v.as_str()))
            .unwrap_or_default()
            .to_ascii_lowercase();
        if matches!(kind.as_str(), "namespace" | "namespaces" | "ns") {
            let name = m.iter().find(|(a, _)| a.eq_ignore_ascii_case("name")).and_then(|(_, v)| v.as_str());
            if let Some(n) = name.filter(|n| protected(n)) {
                return Some(n.to_string());
            }
        }
        if depth == 0 {
            return None;
        }
        m.values().find_map(|v| match v {
            Value::Object(inner) => walk(inner, protected, depth - 1),
            Value::Array(items) => items.iter().filter_map(Value::as_object).find_map(|o| walk(o, protected, depth - 1)),
            _ => None,
        })
    }
    let protected = |s: &str| policy.kubectl.protected_namespaces.iter().any(|p| glob(p, s));
    walk(args, &protected, 8)
}

/// The verdict for one MCP call. `Allow` with no reasons means guard has no opinion.
pub fn classify(server: &str, tool: &str, args: &Map<String, Value>, policy: &Policy) -> Verdict {
    let mut user = Verdict::allow();
    let mut user_allows = false;
    for r in policy.mcp.rules.iter().filter(|r| rule_matches(r, server, tool, args)) {
        user.add(r.decision, &r.id, r.message.clone());
        user_allows |= r.decision == Decision::Allow;
    }
    let mut builtin = Verdict::allow();
    let mutating = looks_mutating(tool);
    if mutating {
        if let Some(ns) = protected_namespace(args, policy) {
            builtin.add(
                Decision::Block,
                "mcp.protected-namespace",
                format!("MCP tool {server}/{tool} changes the protected namespace {ns}"),
            );
        }
        builtin.add(
            Decision::Escalate,
            "mcp.mutating-tool",
            format!("MCP tool {server}/{tool} looks like it changes something; guard cannot see what it does"),
        );
    }
    if user_allows && builtin.decision == Decision::Escalate {
        // The user vouched for this call; a built-in block still stands.
        builtin = Verdict::allow();
    }
    let mut v = user;
    v.merge(builtin);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_split_into_words() {
        assert_eq!(words("resources_delete"), ["resources", "delete"]);
        assert_eq!(words("deleteNamespace"), ["delete", "namespace"]);
        assert!(looks_mutating("pods_exec"));
        assert!(!looks_mutating("pods_list"));
        assert!(!looks_mutating("resources_get"));
        // "preset" is not "set": whole words only.
        assert!(!looks_mutating("preset_lookup"));
        assert!(looks_mutating("nuke_cluster"));
    }

    #[test]
    fn a_protected_namespace_is_found_inside_wrapped_arguments() {
        let policy = crate::policy::builtin().unwrap_or_else(|e| unreachable!("{e}"));
        let args = |v: Value| v.as_object().cloned().unwrap_or_default();
        let wrapped = args(serde_json::json!({"resource": {"kind": "Namespace", "name": "kube-system"}}));
        assert_eq!(classify("kubernetes", "resources_delete", &wrapped, &policy).decision, Decision::Block);
        let listed = args(serde_json::json!({"items": [{"metadata": {"namespace": "kube-system"}}]}));
        assert_eq!(classify("k8s", "apply", &listed, &policy).decision, Decision::Block);
        let other = args(serde_json::json!({"resource": {"kind": "Namespace", "name": "shop"}}));
        assert_eq!(classify("kubernetes", "resources_delete", &other, &policy).decision, Decision::Escalate);
        assert_eq!(classify("kubernetes", "resources_list", &wrapped, &policy).decision, Decision::Allow);
    }

    #[test]
    fn names_split_into_server_and_tool() {
        assert_eq!(split_name("mcp__kubernetes__resources_delete"), Some(("kubernetes", "resources_delete")));
        assert_eq!(split_name("mcp__a__b__c"), Some(("a", "b__c")));
        assert_eq!(split_name("mcp____x"), None);
        assert_eq!(split_name("Bash"), None);
    }
}
