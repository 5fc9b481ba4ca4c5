//! The rule catalogue (`policies/rules.toml` + the built-in data rules): every entry's examples
//! hold, it lists exactly the ids guard can emit, it generates the README's rule table and
//! `guard policy rules`, and a policy naming an id it lacks is refused.

use std::collections::BTreeSet;
use std::path::Path;

use guard::catalogue::{self, Entry};

use crate::support::{Test, stderr, stdout};

/// String literals under src/ that look like rule ids but are not rules: the sandbox keys an
/// approval binds (`sandbox::binding`) and policy key names in error messages.
const NOT_RULE_IDS: &[&str] = &["sandbox.writable", "sandbox.secrets", "sandbox.readable"];

fn entries() -> Vec<Entry> {
    catalogue::entries().unwrap()
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_catalogue_example_holds() {
    let builtin = guard::policy::builtin().unwrap();
    let all = entries();
    let failures: Vec<String> = all.iter().flat_map(|e| catalogue::check(e, &builtin)).collect();
    assert!(failures.is_empty(), "{} catalogue example(s) fail (policies/rules.toml):\n{}", failures.len(), failures.join("\n"));
    let examples: usize = all.iter().map(|e| e.matches.len() + e.not_match.len()).sum();
    assert!(examples >= 2 * all.len(), "{examples} examples for {} rules", all.len());
}

#[test]
fn every_rule_has_a_not_match_example() {
    let missing: Vec<String> = entries().into_iter().filter(|e| e.not_match.is_empty()).map(|e| e.id).collect();
    assert!(missing.is_empty(), "give these rules a `not_match` example in policies/rules.toml: {}", missing.join(", "));
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Rule ids written as string literals in src/, with the first file that names each.
fn ids_in_code() -> std::collections::BTreeMap<String, String> {
    let re = regex::Regex::new(r#""((?:shell|kubectl|terraform|sandbox|mcp)\.[a-z0-9-]+)""#).unwrap();
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    files.sort();
    let mut ids = std::collections::BTreeMap::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for c in re.captures_iter(&text) {
            let id = c[1].to_string();
            if !NOT_RULE_IDS.contains(&id.as_str()) {
                let rel = f.strip_prefix(root()).unwrap_or(&f).display().to_string();
                ids.entry(id).or_insert(rel);
            }
        }
    }
    ids
}

#[test]
fn the_catalogue_lists_exactly_the_rule_ids_guard_can_emit() {
    let code = ids_in_code();
    let data: BTreeSet<String> = guard::policy::builtin().unwrap().shell.builtin_rules.iter().map(|r| r.id.clone()).collect();
    let listed: BTreeSet<String> = entries().into_iter().map(|e| e.id).collect();
    let missing: Vec<(&String, &String)> = code.iter().filter(|(id, _)| !listed.contains(*id)).collect();
    let stale: Vec<&String> = listed.iter().filter(|id| !code.contains_key(*id) && !data.contains(*id)).collect();
    let mut msg = String::new();
    if !missing.is_empty() {
        msg.push_str(&format!(
            "{} rule id(s) in src/ are not in the catalogue: {}\nAdd to policies/rules.toml (keep it sorted by id; examples are checked by `every_catalogue_example_holds`):\n",
            missing.len(),
            missing.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>().join(", ")
        ));
        for (id, file) in &missing {
            msg.push_str(&format!(
                "\n# emitted in {file}\n[[rule]]\nid = \"{id}\"\ndecision = \"escalate\"   # or block / allow\nsummary = \"…\"\nmatch = [\"…\"]\nnot_match = [\"…\"]\n"
            ));
        }
    }
    if !stale.is_empty() {
        msg.push_str(&format!(
            "\n{} catalogue id(s) that no code or data rule can emit (remove them from policies/rules.toml, or if a literal is not a rule id, add it to NOT_RULE_IDS in this test): {}\n",
            stale.len(),
            stale.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    assert!(msg.is_empty(), "{msg}");
}

#[test]
fn integrity_flags_are_the_rules_policy_cannot_disable() {
    let flagged: BTreeSet<String> = entries().into_iter().filter(|e| e.integrity).map(|e| e.id).collect();
    let code: BTreeSet<String> = guard::tools::shell::INTEGRITY_RULES.iter().map(|s| s.to_string()).collect();
    assert_eq!(flagged, code, "`integrity = true` in policies/rules.toml must be exactly INTEGRITY_RULES in src/tools/shell/");
}

const BEGIN: &str = "<!-- rules:begin (generated from policies/rules.toml and policies/default.toml by tests/integration/catalogue.rs; GUARD_UPDATE_README=1 cargo test --test integration readme_rule_table rewrites it) -->\n";
const END: &str = "<!-- rules:end -->";

#[test]
fn readme_rule_table_is_generated_from_the_catalogue() {
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (Some(b), Some(e)) = (readme.find(BEGIN), readme.find(END)) else {
        panic!("README.md lacks the rule table markers:\n{BEGIN}{END}");
    };
    let start = b + BEGIN.len();
    assert!(start <= e, "README.md rule table markers are out of order");
    let table = catalogue::markdown_table(&entries());
    if readme[start..e] == table {
        return;
    }
    if std::env::var("GUARD_UPDATE_README").as_deref() == Ok("1") {
        std::fs::write(&path, format!("{}{table}{}", &readme[..start], &readme[e..])).unwrap();
        return;
    }
    panic!(
        "README.md's rule table is not the catalogue's; run `GUARD_UPDATE_README=1 cargo test --test integration readme_rule_table` and commit README.md"
    );
}

#[test]
fn policy_rules_prints_every_rule_and_json_is_one_document() {
    let all = entries();
    let (_, out) = Test::new().args(&["policy", "rules"]).status(0).stdout_contains("shell.rm-root").run();
    let text = stdout(&out);
    for e in &all {
        assert!(text.lines().any(|l| l.starts_with(&format!("{} ", e.id))), "{} missing from `guard policy rules`", e.id);
    }
    assert!(text.lines().any(|l| l.starts_with("shell.parse-error ") && l.contains("integrity")), "{text}");
    let (_, out) = Test::new().args(&["policy", "rules", "--json"]).status(0).run();
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let rules = v["rules"].as_array().unwrap();
    assert_eq!(rules.len(), all.len());
    let rm = rules.iter().find(|r| r["id"] == "shell.rm-root").unwrap();
    assert_eq!(rm["decision"], "block");
    assert_eq!(rm["integrity"], false);
    assert!(rm["match"].as_array().is_some_and(|m| !m.is_empty()) && rm["not_match"].is_array());
    let (_, out) = Test::new().args(&["policy", "rules", "--help"]).status(0).stdout_contains("--json").run();
    assert!(stdout(&out).contains("JSON document"), "{}", stdout(&out));
}

#[test]
fn policy_rules_marks_what_the_policy_turns_off() {
    let t = Test::new().policy("[shell]\ndisabled_rules = [\"shell.git-force-push\"]\n");
    let (_, out) = t.args(&["policy", "rules"]).status(0).run();
    let line = stdout(&out).lines().find(|l| l.starts_with("shell.git-force-push ")).unwrap_or_default().to_string();
    assert!(line.contains("off"), "{line}");
    let t = Test::new().policy("[shell]\ndisabled_rules = [\"shell.git-force-push\"]\n");
    let (_, out) = t.args(&["policy", "rules", "--json"]).status(0).run();
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let r = v["rules"].as_array().unwrap().iter().find(|r| r["id"] == "shell.git-force-push").unwrap().clone();
    assert_eq!(r["disabled"], true);
}

/// The bug this replays: `disabled_rules = ["shell.git-force-pushh"]` was accepted and ignored,
/// so the author believed a rule was off (or a reviewer believed a typo harmless) and nothing
/// said otherwise. Now every guard command refuses the policy (78), naming the id and line.
#[test]
fn disabled_rules_typo_is_a_policy_error_not_silently_ignored() {
    let text =
        "[defaults]\nplan_ttl = \"1h\"\n\n[shell]\ndisabled_rules = [\n  \"shell.git-reset-hard\",\n  \"shell.git-force-pushh\",\n]\n";
    let t = Test::new().policy(text);
    let (t, out) = t.args(&["explain", "shell", "ls"]).status(78).run();
    let err = stderr(&out);
    assert!(err.contains("shell.git-force-pushh") && err.contains("line 7") && err.starts_with("guard:"), "{err}");
    let f = t.dir.path().join("policy.toml");
    let (_, out) = Test::new().args(&["policy", "check", f.to_str().unwrap()]).status(78).run();
    assert!(stderr(&out).contains("line 7"), "{}", stderr(&out));
    let marker = t.work().join("ran");
    Test::new().policy(text).args(&["shell", "-c", &format!("touch {}", marker.display())]).status(78).run();
    assert!(!marker.exists(), "a line ran under a policy guard refused");
}

#[test]
fn disabled_rules_naming_a_rule_shell_cannot_turn_off_is_a_policy_error() {
    for (id, why) in [("kubectl.mutation", "not a shell rule"), ("terraform.raw-apply", "not a shell rule"), ("custom.mine", "not a rule")]
    {
        let t = Test::new().policy(&format!("[shell]\ndisabled_rules = [\"{id}\"]\n"));
        let (_, out) = t.args(&["explain", "shell", "ls"]).status(78).run();
        let err = stderr(&out);
        assert!(err.contains(id) && err.contains(why) && err.contains("line 2"), "{err}");
    }
    Test::new()
        .policy("[shell]\ndisabled_rules = [\"shell.npx\", \"shell.power-off\"]\n")
        .args(&["explain", "shell", "ls"])
        .status(0)
        .stdout_contains("allow")
        .run();
}

#[test]
fn the_policy_load_check_agrees_with_the_catalogue() {
    let data = guard::policy::builtin().unwrap().shell.builtin_rules;
    for e in entries() {
        let refused = catalogue::why_not_disableable(&e.id, &data).unwrap();
        assert_eq!(refused.is_none(), e.disableable(), "{}: {refused:?}", e.id);
    }
    assert!(catalogue::why_not_disableable("shell.no-such-rule", &data).unwrap().is_some());
}

/// The catalogue check itself must be able to fail: a wrong `match` and a wrong `not_match`
/// are both reported, naming the rule and the input.
#[test]
fn a_wrong_catalogue_example_is_reported() {
    let builtin = guard::policy::builtin().unwrap();
    let mut e = entries().into_iter().find(|e| e.id == "shell.rm-root").unwrap();
    e.matches = vec![catalogue::Example::Input("rm -rf build".into())];
    e.not_match = vec![catalogue::Example::Input("rm -rf /".into())];
    let failures = catalogue::check(&e, &builtin);
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures[0].contains("shell.rm-root") && failures[0].contains("rm -rf build"), "{failures:?}");
    assert!(failures[1].contains("not_match `rm -rf /`"), "{failures:?}");
    e.matches.clear();
    assert!(catalogue::check(&e, &builtin).iter().any(|f| f.contains("no `match` example")));
}
