//! Converts policies/default.toml and policies/rules.toml to JSON at build time: guard parses
//! its built-in policy on every start (and the rule ids whenever a policy disables rules), and
//! serde_json reads the same data several times faster than a TOML parser. The TOML files stay
//! the source of truth (and are what `guard policy check`, `guard policy rules` and tests read).

fn main() {
    version();
    // install.sh links with this list (`--symbol-ordering-file`), which cargo does not track as
    // an input: without this, a new list alone would leave the binary linked with the old one.
    println!("cargo::rerun-if-changed=benches/hot-functions.txt");
    for (src, out) in [("policies/default.toml", "default_policy.json"), ("policies/rules.toml", "rules.json")] {
        println!("cargo::rerun-if-changed={src}");
        let text = match std::fs::read_to_string(src) {
            Ok(t) => t,
            Err(e) => {
                println!("cargo::error=cannot read {src}: {e}");
                return;
            }
        };
        let value: toml::Value = match toml::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                println!("cargo::error={src} does not parse: {e}");
                return;
            }
        };
        let json = match serde_json::to_string(&value) {
            Ok(j) => j,
            Err(e) => {
                println!("cargo::error=cannot encode {src}: {e}");
                return;
            }
        };
        let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join(out);
        if let Err(e) = std::fs::write(&out, json) {
            println!("cargo::error=cannot write {}: {e}", out.display());
        }
    }
}

/// `guard --version` says which commit it was built from: `0.1.0 (3f2a9c1)`, with `-dirty` when
/// the work tree had changes, and `(unknown commit)` outside git (a source tarball).
fn version() {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"]);
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        // Rebuild when HEAD moves (a commit, a checkout) or the index changes (dirty state).
        println!("cargo::rerun-if-changed={dir}/HEAD");
        println!("cargo::rerun-if-changed={dir}/index");
        if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
            let common = git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]).unwrap_or_else(|| dir.clone());
            println!("cargo::rerun-if-changed={common}/{r}");
        }
    }
    let pkg = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let v = match commit {
        Some(c) if dirty => format!("{pkg} ({c}-dirty)"),
        Some(c) => format!("{pkg} ({c})"),
        None => format!("{pkg} (unknown commit)"),
    };
    println!("cargo::rustc-env=GUARD_VERSION={v}");
}
