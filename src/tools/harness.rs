//! The agent harnesses' own files: where Claude Code, Codex, Cursor and Gemini CLI keep the
//! hook and permission settings that decide what the agent may do, and git hooks. Pure path
//! facts, shared by the agent hooks (which deny writes to them) and the shell classifier (which
//! escalates them like shell start-up files).

use std::path::Path;

/// The agents' hook and permission settings and git hooks, wherever they are.
pub fn agent_settings(p: &Path) -> Option<&'static str> {
    let parts: Vec<String> = p.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    let name = parts.last()?.as_str();
    let dir = parts.len().checked_sub(2).and_then(|i| parts.get(i)).map_or("", String::as_str);
    if parts.windows(2).any(|w| matches!(w, [g, h] if g == ".git" && h == "hooks")) {
        return Some("a git hook");
    }
    match (dir, name) {
        (".claude", n) if n.starts_with("settings") && n.ends_with(".json") => {
            Some("Claude Code's settings (where its hooks are registered)")
        }
        (".codex", "config.toml" | "hooks.json" | "requirements.toml") => Some("Codex's configuration (where its hooks are registered)"),
        (".cursor", "hooks.json" | "permissions.json" | "cli.json") => Some("Cursor's hook configuration"),
        (".gemini", "settings.json") => Some("Gemini CLI's settings (where its hooks are registered)"),
        _ => None,
    }
}

/// Shell start-up files, relative to the home directory: writing one runs code in the human's
/// next shell (the hook denies writes to them, the sandbox never makes them writable).
pub const SHELL_STARTUP: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".zlogout",
    ".kshrc",
    ".mkshrc",
    ".config/fish/config.fish",
    ".config/environment.d",
    ".pam_environment",
    ".inputrc",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_settings_are_recognised_anywhere() {
        assert!(agent_settings(Path::new("/w/p/.claude/settings.local.json")).is_some());
        assert!(agent_settings(Path::new("/home/u/.claude/settings.json")).is_some());
        assert!(agent_settings(Path::new("/home/u/.codex/config.toml")).is_some());
        assert!(agent_settings(Path::new("/w/p/.git/hooks/pre-commit")).is_some());
        assert!(agent_settings(Path::new("/w/p/.claude/commands/x.md")).is_none());
        assert!(agent_settings(Path::new("/w/p/src/settings.json")).is_none());
        assert!(agent_settings(Path::new("/w/p/.git/hooks")).is_some());
        assert!(agent_settings(Path::new("/srv/hooks/.git/config")).is_none());
    }
}
