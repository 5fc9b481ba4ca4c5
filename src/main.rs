//! Thin: run the library, map a panic (a bug) to one `guard:` line and exit 70.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    // A panic is a bug, never an answer: report it once, as a `guard:` line, and exit 70. The
    // hook ends the process itself, so this holds whatever the panic strategy.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        eprintln!("guard: internal error: {msg} (please report this)");
        std::process::exit(70);
    }));
    ExitCode::from(guard::main_with(std::env::args_os().collect()))
}
