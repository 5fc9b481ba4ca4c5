//! Thin: run the library, map a panic (a bug) to one `guard:` line and exit 70 (2 in hook mode).
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // A panic is a bug, never an answer: report it once, as a `guard:` line, and exit 70. In hook
    // mode a panic must block the agent's tool call, and only exit 2 does that. The hook ends
    // the process itself, so this holds whatever the panic strategy.
    let panic_code = if guard::is_hook_mode(&argv) { 2 } else { 70 };
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        // `guard audit tail | head`: the reader went away, which is no bug. End quietly with the
        // code a shell shows for a tool SIGPIPE ended (141) — never 0, so `guard audit verify |
        // head` or a blocked `guard terraform plan | head` cannot turn into a success.
        if panic_code != 2 && msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(141);
        }
        eprintln!("guard: internal error: {msg} (please report this)");
        std::process::exit(panic_code);
    }));
    // The sandbox helper must stay single-threaded until it has unshared its namespaces (guard
    // starts no thread of its own before this point).
    if argv.get(1).is_some_and(|a| a == guard::sandbox::HELPER_ARG) {
        return ExitCode::from(guard::sandbox::linux::helper_main(&argv));
    }
    // Reached as `terraform` or `kubectl` (the broker's links inside a contained line).
    let called = argv.first().and_then(|a| std::path::Path::new(a).file_name()).and_then(|n| n.to_str()).map(str::to_string);
    if let Some(tool) = called.filter(|n| n == "terraform" || n == "kubectl") {
        argv.insert(1, tool.into());
    }
    // Inside a contained line every guard invocation is the broker's to run.
    if std::env::var_os(guard::sandbox::BROKER_ENV).is_some_and(|v| !v.is_empty()) {
        return ExitCode::from(guard::sandbox::broker::client(argv.split_off(1)));
    }
    ExitCode::from(guard::main_with(argv))
}
