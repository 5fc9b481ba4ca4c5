//! Converts policies/default.toml and policies/rules.toml to JSON at build time: guard parses
//! its built-in policy on every start (and the rule ids whenever a policy disables rules), and
//! serde_json reads the same data several times faster than a TOML parser. The TOML files stay
//! the source of truth (and are what `guard policy check`, `guard policy rules` and tests read).

fn main() {
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
