//! Converts policies/default.toml to JSON at build time: guard parses its built-in policy on
//! every start, and serde_json reads the same data several times faster than a TOML parser.
//! The TOML file stays the source of truth (and is what `guard policy check` and tests read).

fn main() {
    println!("cargo::rerun-if-changed=policies/default.toml");
    let text = match std::fs::read_to_string("policies/default.toml") {
        Ok(t) => t,
        Err(e) => {
            println!("cargo::error=cannot read policies/default.toml: {e}");
            return;
        }
    };
    let value: toml::Value = match toml::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            println!("cargo::error=policies/default.toml does not parse: {e}");
            return;
        }
    };
    let json = match serde_json::to_string(&value) {
        Ok(j) => j,
        Err(e) => {
            println!("cargo::error=cannot encode the default policy: {e}");
            return;
        }
    };
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("default_policy.json");
    if let Err(e) = std::fs::write(&out, json) {
        println!("cargo::error=cannot write {}: {e}", out.display());
    }
}
