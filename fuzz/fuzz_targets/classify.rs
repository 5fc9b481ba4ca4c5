//! Any bytes as a shell line, kubectl argv and terraform argv: classification never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static POLICY: LazyLock<Option<guard::policy::Policy>> = LazyLock::new(|| guard::policy::builtin().ok());

static QUIET: std::sync::Once = std::sync::Once::new();

fuzz_target!(|data: &[u8]| {
    // guard contains brush-parser's own panics with catch_unwind (and escalates the line);
    // libfuzzer-sys's hook would abort on those too. With a silent hook, only a panic that
    // escapes guard reaches libFuzzer (which still aborts on it) — guard's actual contract.
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let Some(policy) = POLICY.as_ref() else { return };
    let text = String::from_utf8_lossy(data);
    let ctx = guard::request::Context::example();
    let _ = guard::tools::shell::classify_line(&text, policy, &ctx);
    let argv: Vec<String> = text.split(['\0', ' ']).map(str::to_string).collect();
    let _ = guard::tools::kubectl::classify(&argv, policy, &ctx);
    let _ = guard::tools::terraform::classify(&argv, policy, &ctx);
});
