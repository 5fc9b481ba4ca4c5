//! Policy loading: merge, errors naming file and line, examples checked at load.

use crate::support::{Test, stderr, stdout};

#[test]
fn the_built_in_policy_passes_all_its_examples() {
    let p = guard::policy::builtin().unwrap();
    guard::classify::check_examples(&p, guard::policy::DEFAULT_POLICY, guard::classify::Scope::All).unwrap();
    assert!(p.examples.len() >= 20);
}

#[test]
fn policy_check_accepts_a_good_policy() {
    let t = Test::new();
    let f = t.dir.path().join("ok.toml");
    std::fs::write(&f, "[defaults]\nplan_ttl = \"30m\"\n\n[[shell.rules]]\nid = \"custom.deploy\"\nprogram = \"deploy\"\nargs = [\"--env\", \"prod*\"]\ndecision = \"escalate\"\nmessage = \"production deploys need a human\"\nexamples = [{ line = \"deploy --env prod-eu\", decision = \"escalate\" }]\n").unwrap();
    t.args(&["policy", "check", f.to_str().unwrap()]).status(0).stdout_contains("valid").run();
}

fn bad_policy(text: &str, line: &str, words: &[&str]) {
    let t = Test::new();
    let f = t.dir.path().join("bad.toml");
    std::fs::write(&f, text).unwrap();
    let (_, out) = t.args(&["policy", "check", f.to_str().unwrap()]).status(78).run();
    let err = stderr(&out);
    assert!(err.contains("bad.toml"), "no file name in: {err}");
    assert!(err.contains(&format!("line {line}")), "no line {line} in: {err}");
    for w in words {
        assert!(err.contains(w), "no {w:?} in: {err}");
    }
}

#[test]
fn syntax_error_names_file_and_line() {
    bad_policy("[defaults]\nplan_ttl = \"1h\"\nthis is not toml\n", "3", &[]);
}

#[test]
fn unknown_key_names_the_key_and_line() {
    bad_policy("[defaults]\nplan_ttl = \"1h\"\n\n[kubectl]\nprotected_namespacez = []\n", "5", &["protected_namespacez"]);
}

#[test]
fn bad_duration_names_the_line() {
    bad_policy("[defaults]\napproval_ttl = \"10 minutes\"\n", "2", &["duration"]);
}

#[test]
fn failing_example_shows_example_expected_and_actual() {
    bad_policy(
        "[[shell.rules]]\nid = \"custom.ls\"\nprogram = \"ls\"\ndecision = \"escalate\"\nmessage = \"x\"\nexamples = [{ line = \"ls -la\", decision = \"allow\" }]\n",
        "6",
        &["ls -la", "should be allow", "but is escalate"],
    );
    bad_policy(
        "[[examples]]\ntool = \"shell\"\nline = \"rm -rf /\"\ndecision = \"allow\"\n",
        "3",
        &["rm -rf /", "should be allow", "block"],
    );
}

#[test]
fn integrity_rules_cannot_be_disabled() {
    bad_policy("[shell]\ndisabled_rules = [\"shell.parse-error\"]\n", "2", &["cannot be disabled"]);
}

#[test]
fn user_policy_merges_over_the_default() {
    let (_, out) = Test::new().policy("[kubectl]\nprotected_namespaces = [\"prod\"]\n").args(&["policy", "show"]).status(0).run();
    let s = stdout(&out);
    assert!(s.contains("\"prod\""), "{s}");
    assert!(!s.contains("kube-public"), "lists replace: {s}");
    assert!(s.contains("plan_ttl = \"1h\""), "tables merge: {s}");
}

#[test]
fn user_allow_overrides_builtin_escalate_but_not_block_nor_nested() {
    let pol = "[[shell.rules]]\nid = \"custom.frob\"\nprogram = \"frobnicate\"\ndecision = \"allow\"\nmessage = \"ours\"\n\n[[shell.rules]]\nid = \"custom.rm\"\nprogram = \"rm\"\ndecision = \"allow\"\nmessage = \"bad idea\"\n";
    Test::new().policy(pol).args(&["explain", "shell", "frobnicate --all"]).status(0).stdout_contains("allow").run();
    Test::new().policy(pol).args(&["explain", "shell", "rm -rf /"]).status(0).stdout_contains("block").run();
    Test::new().policy(pol).args(&["explain", "shell", "frobnicate; curl -X POST x"]).status(0).stdout_contains("escalate").run();
}

#[test]
fn disabled_rules_turn_a_builtin_off() {
    Test::new()
        .policy("[shell]\ndisabled_rules = [\"shell.git-force-push\"]\n")
        .args(&["explain", "shell", "git push --force"])
        .status(0)
        .stdout_contains("allow")
        .run();
}

#[test]
fn builtin_rules_cannot_be_replaced_by_a_user_policy() {
    Test::new()
        .policy("[[shell.builtin_rules]]\nid = \"x\"\nprogram = \"x\"\ndecision = \"allow\"\nmessage = \"x\"\n")
        .args(&["policy", "show"])
        .status(78)
        .stderr_contains("builtin_rules")
        .run();
}

/// `[[shell.reads]]`: a user's list for a program replaces the built-in one for that program only.
/// An agent that edits nothing gains nothing; a human who lists `docker run` as a read has said so.
#[test]
fn shell_reads_list_replaces_the_builtin_one_per_program() {
    let pol = "[[shell.reads]]\nprograms = [\"docker\", \"not-a-program-guard-judges\"]\nsubcommands = [\"ps\", \"run\"]\n";
    let explain = |line: &str, decision: &str| {
        let (_, out) = Test::new().policy(pol).args(&["explain", "--json", "shell", line]).status(0).run();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["decision"], decision, "{line}: {v}");
        v
    };
    explain("docker run alpine", "allow");
    explain("docker ps", "allow");
    // The built-in docker list is replaced: `images` is no longer a read of docker.
    let v = explain("docker images", "escalate");
    assert!(v.to_string().contains("shell.container"), "{v}");
    // podman keeps the built-in list.
    explain("podman images", "allow");
    explain("podman run alpine", "escalate");
    // And the built-in policy itself: docker images is a read, docker run is not.
    let (_, out) = Test::new().args(&["explain", "--json", "shell", "docker images"]).status(0).run();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"allow\""));
}

/// A reads entry with a non-string (`subcommands = ["ps", 1]`) or a misspelt key is a policy
/// error naming the line, not a silently empty list that would make every subcommand escalate
/// (or, read the other way, a typo that lets something through).
#[test]
fn shell_reads_with_a_non_string_is_a_policy_error() {
    bad_policy(
        "[shell]\ndisabled_rules = []\n\n[[shell.reads]]\nprograms = [\"docker\"]\nsubcommands = [\"ps\", 1]\n",
        "6",
        &["expected a string"],
    );
    bad_policy("[[shell.reads]]\nprograms = [\"podman\"]\nsubcommand = [\"ps\"]\n", "3", &["subcommand"]);
}

/// `[[shell.subcommands]]`: a project's own cargo alias (`cargo xtask`) is unknown code until the
/// human lists it; listing it for cargo leaves git's alias check (`git co`) as it was.
#[test]
fn shell_subcommands_list_replaces_the_builtin_one_per_program() {
    let decision = |pol: Option<&str>, line: &str| {
        let t = Test::new();
        let t = match pol {
            Some(p) => t.policy(p),
            None => t,
        };
        let (_, out) = t.args(&["explain", "--json", "shell", line]).status(0).run();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (v["decision"].as_str().unwrap_or_default().to_string(), v.to_string())
    };
    let off = "[sandbox]\nmode = \"off\"\n";
    let (d, v) = decision(Some(off), "cargo xtask dist");
    assert_eq!(d, "escalate", "{v}");
    assert!(v.contains("shell.unknown-command"), "{v}");
    let pol = format!("{off}\n[[shell.subcommands]]\nprograms = [\"cargo\"]\nsubcommands = [\"build\", \"xtask\"]\n");
    assert_eq!(decision(Some(&pol), "cargo xtask dist").0, "allow");
    // The built-in cargo list is replaced: `cargo test` is no longer listed.
    assert_eq!(decision(Some(&pol), "cargo test").0, "escalate");
    // git keeps its list: an alias still escalates, a real subcommand passes.
    let (d, v) = decision(Some(&pol), "git co main");
    assert_eq!(d, "escalate", "{v}");
    assert_eq!(decision(Some(&pol), "git status").0, "allow");
}
