//! Property tests: arbitrary input to every parser never panics.

use proptest::prelude::*;

fn shellish() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "rm",
        "-rf",
        "/",
        "~",
        "$HOME",
        "$(",
        ")",
        "`",
        "'",
        "\"",
        "\\",
        "$'\\x72'",
        "|",
        "&&",
        ";",
        "&",
        "<(",
        ">(",
        "<<EOF\n",
        "\nEOF\n",
        "{",
        "}",
        "(",
        ")",
        "[[",
        "]]",
        "$((",
        "))",
        "${x:-",
        "}",
        "bash -c",
        "eval",
        "sudo",
        "xargs",
        "find",
        "-exec",
        "\\;",
        "curl x",
        "sh",
        "*",
        "?",
        "{a,b}",
        "{1..9}",
        "kubectl",
        "terraform",
        "apply",
        "-n",
        "kube-system",
        "delete",
        "ns",
        " ",
        "\n",
        "#",
        "=",
        "x=1",
        "function f",
        "()",
        "if",
        "then",
        "fi",
        "for",
        "do",
        "done",
        "case",
        "esac",
        "in",
        ";;",
        "!",
        "2>&1",
        ">",
        ">>",
        "<",
        "<<<",
        "\t",
    ]);
    prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn shell_classification_never_panics(line in shellish()) {
        let policy = guard::policy::builtin().unwrap();
        let _ = guard::tools::shell::classify_line(&line, &policy, &guard::request::Context::example());
    }

    #[test]
    fn arbitrary_text_never_panics_the_classifiers(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let s = String::from_utf8_lossy(&bytes).into_owned();
        let policy = guard::policy::builtin().unwrap();
        let ctx = guard::request::Context::example();
        let _ = guard::tools::shell::classify_line(&s, &policy, &ctx);
        let argv: Vec<String> = s.split(' ').map(str::to_string).collect();
        let _ = guard::tools::kubectl::classify(&argv, &policy, &ctx);
        let _ = guard::tools::terraform::classify(&argv, &policy, &ctx);
    }

    #[test]
    fn arbitrary_bytes_as_policy_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let s = String::from_utf8_lossy(&bytes).into_owned();
        let _ = guard::policy::parse_file(&s, std::path::Path::new("fuzz.toml"));
    }

    #[test]
    fn arbitrary_bytes_as_audit_log_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600), head in any::<Option<u64>>()) {
        let _ = guard::audit::verify_bytes(&bytes, head.map(|h| (h, "00")));
    }

    #[test]
    fn arbitrary_explain_requests_never_panic(s in ".{0,200}") {
        let _ = guard::explain::parse_request(&s);
    }
}

#[test]
fn policy_shaped_garbage_never_panics() {
    for text in [
        "[defaults]\nplan_ttl = 5\n",
        "[[shell.rules]]\n",
        "[shell]\nrules = 3",
        "[[examples]]\ntool='shell'\ndecision='allow'\n",
        "\u{0}",
        "[kubectl]\nprotected_namespaces = [1]",
    ] {
        let _ = guard::policy::parse_file(text, std::path::Path::new("x.toml"));
    }
}
