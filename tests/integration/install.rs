//! From a fresh copy of the tree: `./install.sh --prefix DIR` succeeds, twice, and its doctor run exits 0.

use std::path::Path;
use std::process::Command;

fn copy_tracked_tree(from: &Path, to: &Path) {
    let files = Command::new("git").args(["ls-files", "-co", "--exclude-standard", "-z"]).current_dir(from).output().unwrap();
    assert!(files.status.success());
    for f in files.stdout.split(|&b| b == 0).filter(|f| !f.is_empty()) {
        let rel = Path::new(std::str::from_utf8(f).unwrap());
        let (src, dst) = (from.join(rel), to.join(rel));
        if !src.is_file() {
            continue;
        }
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(&src, &dst).unwrap();
    }
}

fn install(tree: &Path, root: &Path, tmp: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new("bash")
        .arg(tree.join("install.sh"))
        .args(args)
        .env_remove("GUARD_HOME")
        .env_remove("XDG_STATE_HOME")
        .env("HOME", tmp.join("home"))
        .env("CARGO_TARGET_DIR", root.join("target/install-test"))
        .env("CARGO_HOME", std::env::var("CARGO_HOME").unwrap_or_else(|_| format!("{}/.cargo", std::env::var("HOME").unwrap())))
        .env("RUSTUP_HOME", std::env::var("RUSTUP_HOME").unwrap_or_else(|_| format!("{}/.rustup", std::env::var("HOME").unwrap())))
        .output()
        .unwrap();
    let (so, se) = (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "install.sh {args:?} failed\nstdout: {so}\nstderr: {se}");
    (so, se)
}

#[test]
fn install_sh_from_a_fresh_tree_installs_and_doctor_passes() {
    if !crate::support::require_tool("git") {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    copy_tracked_tree(root, &tree);
    std::fs::create_dir_all(tmp.path().join("home")).unwrap();
    let prefix = tmp.path().join("prefix");
    let guard = prefix.join("bin/guard");
    for _round in 0..2 {
        let (so, _) = install(&tree, root, tmp.path(), &["--prefix", prefix.to_str().unwrap()]);
        assert!(so.contains(&format!("export PATH=\"{}:$PATH\"", prefix.join("bin").display())), "no PATH line for the human: {so}");
        assert!(
            so.contains(&format!("export PATH=\"{}:$PATH\"", prefix.join("share/guard/shims").display())),
            "no PATH line for the agent: {so}"
        );
        assert!(so.contains("guard approver init"), "{so}");
        assert!(
            so.contains(&format!("\"command\": \"{} hook claude\"", guard.display())),
            "the hook snippet lacks the absolute path: {so}"
        );
        assert!(so.contains("ok   policy"), "doctor did not run: {so}");
    }
    assert!(guard.is_file());
    let shim = std::fs::read_to_string(prefix.join("share/guard/shims/kubectl")).unwrap();
    assert!(shim.contains(&format!("exec \"{}\" kubectl", guard.display())), "{shim}");
    assert!(shim.contains("guard-shim"));
    // Nothing outside the prefix: no state in the home, no unused policy copy inside.
    assert!(!tmp.path().join("home/.local/state/guard").exists(), "install --prefix wrote guard state into the home");
    assert!(!prefix.join("share/guard/policies/default.toml").exists());
    assert!(std::fs::read_dir(&prefix).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().starts_with(".doctor")));

    // --isolate: the installed guard's state lives under the prefix, and the shims use it.
    let iso = tmp.path().join("iso");
    let (so, _) = install(&tree, root, tmp.path(), &["--prefix", iso.to_str().unwrap(), "--isolate"]);
    let state = iso.join("state");
    assert!(so.contains(&format!("export GUARD_HOME={}", state.display())), "{so}");
    assert!(std::fs::read_to_string(state.join("audit.jsonl")).unwrap().contains("\"kind\":\"doctor\""));
    assert!(!tmp.path().join("home/.local/state/guard").exists());
    let out = Command::new(iso.join("share/guard/shims/bash"))
        .args(["-c", "echo via-shim"])
        .env("HOME", tmp.path().join("home"))
        .env_remove("GUARD_HOME")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "via-shim\n", "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read_to_string(state.join("audit.jsonl")).unwrap().contains("echo via-shim"));
}
