//! Thin: run the library on a thread with a generous stack, map panics to exit 70.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    // Silence the default panic printer: a panic is reported once, as a `guard:` line.
    std::panic::set_hook(Box::new(|_| {}));
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // The sandbox helper must stay single-threaded until it has unshared its namespaces: it
    // runs before the worker thread exists.
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
    // In hook mode a panic must block the agent's tool call, and only exit 2 does that.
    let panic_code = if guard::is_hook_mode(&argv) { 2 } else { 70 };
    let main = std::thread::current();
    let _ = guard::WATCHER.set(main.clone());
    let worker = std::thread::Builder::new().stack_size(64 * 1024 * 1024).spawn(move || {
        // Wakes the main thread when the worker ends, also by a panic.
        struct Wake(std::thread::Thread);
        impl Drop for Wake {
            fn drop(&mut self) {
                guard::WORKER_DONE.store(true, std::sync::atomic::Ordering::SeqCst);
                self.0.unpark();
            }
        }
        let _wake = Wake(main);
        guard::main_with(argv)
    });
    // The main thread keeps the classification watchdog while the worker runs.
    if worker.is_ok() {
        guard::Watchdog::watch();
    }
    let code = match worker.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        Ok(Err(panic)) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            eprintln!("guard: internal error: {msg} (please report this)");
            panic_code
        }
        Err(e) => {
            eprintln!("guard: internal error: cannot start: {e}");
            panic_code
        }
    };
    ExitCode::from(code)
}
