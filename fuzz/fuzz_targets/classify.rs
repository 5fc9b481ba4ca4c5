//! Any bytes as a shell line, kubectl argv and terraform argv: classification never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static POLICY: LazyLock<Option<guard::policy::Policy>> = LazyLock::new(|| guard::policy::builtin().ok());

fuzz_target!(|data: &[u8]| {
    let Some(policy) = POLICY.as_ref() else { return };
    let text = String::from_utf8_lossy(data);
    let ctx = guard::request::Context::example();
    let _ = guard::tools::shell::classify_line(&text, policy, &ctx);
    let argv: Vec<String> = text.split(['\0', ' ']).map(str::to_string).collect();
    let _ = guard::tools::kubectl::classify(&argv, policy, &ctx);
    let _ = guard::tools::terraform::classify(&argv, policy, &ctx);
});
