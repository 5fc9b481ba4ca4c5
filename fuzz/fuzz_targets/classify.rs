//! Any bytes as a shell line, kubectl argv and terraform argv: classification never panics, and
//! every line guard's shell parser accepts, the real bash accepts too (`bash -n`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::process::{Command, Stdio};
use std::sync::LazyLock;

static POLICY: LazyLock<Option<guard::policy::Policy>> = LazyLock::new(|| guard::policy::builtin().ok());

/// `bash` on PATH, found once (`GUARD_FUZZ_BASH` overrides it; empty disables the check).
static BASH: LazyLock<Option<std::path::PathBuf>> = LazyLock::new(|| match std::env::var_os("GUARD_FUZZ_BASH") {
    Some(p) if p.is_empty() => None,
    Some(p) => Some(p.into()),
    None => std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join("bash")).find(|b| b.is_file())),
});

fuzz_target!(|data: &[u8]| {
    let Some(policy) = POLICY.as_ref() else { return };
    let text = String::from_utf8_lossy(data);
    let ctx = guard::request::Context::example();
    let _ = guard::tools::shell::classify_line(&text, policy, &ctx);
    if let Some(bash) = BASH.as_ref()
        && !text.contains('\0')
        && guard::tools::shell::syntax::parse(&text).is_ok()
    {
        let ok = Command::new(bash)
            .args(["--norc", "--noprofile", "-n", "-c", "--", &text])
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(true);
        assert!(ok, "guard's parser accepts a line bash -n refuses: {text:?}");
    }
    let argv: Vec<String> = text.split(['\0', ' ']).map(str::to_string).collect();
    let _ = guard::tools::kubectl::classify(&argv, policy, &ctx);
    let _ = guard::tools::terraform::classify(&argv, policy, &ctx);
});
