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

#[test]
fn install_sh_from_a_fresh_tree_installs_and_doctor_passes() {
    if !crate::support::require_tool("git") {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    copy_tracked_tree(root, &tree);
    let prefix = tmp.path().join("prefix");
    for round in 0..2 {
        let out = Command::new("bash")
            .arg(tree.join("install.sh"))
            .args(["--prefix", prefix.to_str().unwrap()])
            .env("GUARD_HOME", tmp.path().join("state"))
            .env("HOME", tmp.path().join("home"))
            .env("CARGO_TARGET_DIR", root.join("target/install-test"))
            .env("CARGO_HOME", std::env::var("CARGO_HOME").unwrap_or_else(|_| format!("{}/.cargo", std::env::var("HOME").unwrap())))
            .env("RUSTUP_HOME", std::env::var("RUSTUP_HOME").unwrap_or_else(|_| format!("{}/.rustup", std::env::var("HOME").unwrap())))
            .output()
            .unwrap();
        let (so, se) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "round {round}: install.sh failed\nstdout: {so}\nstderr: {se}");
        assert!(so.contains("export PATH="), "no PATH line: {so}");
        assert!(so.contains("ok   policy"), "doctor did not run: {so}");
    }
    assert!(prefix.join("bin/guard").is_file());
    let shim = std::fs::read_to_string(prefix.join("share/guard/shims/kubectl")).unwrap();
    assert!(shim.contains(&format!("exec \"{}\" kubectl", prefix.join("bin/guard").display())), "{shim}");
    assert!(shim.contains("guard-shim"));
}
