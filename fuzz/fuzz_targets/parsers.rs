//! Any bytes as a policy file, an audit log and an explain request: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = guard::policy::parse_file(&text, std::path::Path::new("fuzz.toml"));
    let _ = guard::audit::verify_bytes(data, Some((3, "0")));
    let _ = guard::explain::parse_request(&text);
});
