//! `cargo bench`: guard's speed, measured side by side in one run. Numbers go in the README.
//!
//! Whole-process timings interleave the compared commands (A, B, A, B, …) so that the
//! machine's drift hits both alike, and report medians.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Map, json};

// The tests' API stand-in; the bench uses only part of it.
#[allow(dead_code)]
#[path = "../tests/integration/kube_api.rs"]
mod kube_api;

/// The binary measured: `$GUARD_BIN` (benches/run sets it to the binary install.sh builds), else
/// the one `cargo bench` built (dynamically linked: slower to start).
static GUARD_BIN: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| std::env::var("GUARD_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_guard").to_string()));

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn run_quiet(cmd: &[&str], env: &[(&str, &str)]) -> Duration {
    let mut c = Command::new(cmd[0]);
    c.args(&cmd[1..]).stdout(Stdio::null()).stderr(Stdio::null()).stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let t = Instant::now();
    let _ = c.status().unwrap();
    t.elapsed()
}

/// Runs the commands interleaved `n` times each; returns their medians.
fn side_by_side(cmds: &[&[&str]], env: &[(&str, &str)], n: usize) -> Vec<Duration> {
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); cmds.len()];
    for _ in 0..20 {
        for c in cmds {
            run_quiet(c, env);
        }
    }
    for _ in 0..n {
        for (i, c) in cmds.iter().enumerate() {
            times[i].push(run_quiet(c, env));
        }
    }
    times.into_iter().map(median).collect()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// This thread's time on the CPU so far (Linux: the scheduler's own count, in nanoseconds).
fn on_cpu() -> Duration {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    Duration::from_nanos(s.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0))
}

/// The shell parser's measures (issue 14): every fuzzer finding decided in < 5 ms, a 1 MiB line
/// in < 100 ms, and the time ratio when the known blow-up shapes double in size.
fn parser() {
    let policy = guard::policy::builtin().unwrap();
    let ctx = guard::request::Context::example();
    // Time on the CPU (this thread's, from the scheduler), not wall-clock: on a shared machine
    // the wall clock mostly measures the other tenants.
    // The scheduler counts in ticks here, so each measure repeats until 200 ms of CPU are spent.
    let time = |line: &str| {
        let start = on_cpu();
        let mut n = 0u32;
        loop {
            let _ = guard::tools::shell::classify_line(line, &policy, &ctx);
            n += 1;
            let used = on_cpu().saturating_sub(start);
            if used >= Duration::from_millis(200) || n >= 100_000 {
                return used / n;
            }
        }
    };
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/shell/fuzz");
    let (mut worst, mut worst_name) = (Duration::ZERO, String::new());
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let line = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
        let d = time(&line);
        if d > worst {
            worst = d;
            worst_name = p.file_name().unwrap().to_string_lossy().into_owned();
        }
    }
    // NL2Bash through classify_line in process: the parser and the walker, without the rest
    // of `explain` (reading the request, the sandbox profile, the output).
    let corpus = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/nl2bash/commands.txt")).unwrap();
    let lines: Vec<&str> = corpus.lines().collect();
    let (start, mut rounds) = (on_cpu(), 0u32);
    while on_cpu().saturating_sub(start) < Duration::from_millis(500) {
        for l in &lines {
            let _ = guard::tools::shell::classify_line(l, &policy, &ctx);
        }
        rounds += 1;
    }
    let per_round = on_cpu().saturating_sub(start) / rounds.max(1);
    println!("parser: NL2Bash classify_line in process: {:.0} lines/s (CPU time)", lines.len() as f64 / per_round.as_secs_f64());
    println!("parser: slowest fuzzer finding {} ({worst_name}; CPU time)", ms(worst));
    let mib = 1 << 20;
    let fill = |unit: &str| unit.repeat(mib / unit.len() + 1);
    for (what, line) in [
        ("commands", fill("ls -la /tmp | grep x && ")),
        ("one quoted word", format!("echo '{}'", "a".repeat(mib))),
        ("here-document", format!("cat <<'EOF'\n{}EOF\n", "line of text\n".repeat(mib / 13))),
        ("words with expansions", fill("echo \"$HOME/${x:-y}\" $(ls) ")),
        ("nested subscripts", fill("echo ${a[${b[${c[0]}]}]} ")),
        ("runs of <<", fill("<<")),
        ("unclosed (", fill("(")),
    ] {
        println!("parser: 1 MiB of {what}: {} (CPU time)", ms(time(&line)));
    }
    for unit in ["${a[${b[${c[0]}]}]} ", "<< ", "(", "case a in a) ", "$(( ", "p[=t\"e\"t", "echo `x` ", "cat <<A\nA\n", "$(<< "] {
        let at = |n: usize| time(&unit.repeat(n)).as_secs_f64().max(1e-9);
        let (a, b) = (at(20_000), at(40_000));
        println!("parser: {unit:?} x20,000 {:.3} ms, x40,000 {:.3} ms, ratio {:.2}", a * 1e3, b * 1e3, b / a);
        if std::env::args().any(|a| a == "parse-only") {
            let at = |n: usize| {
                let line = unit.repeat(n);
                let (start, mut k) = (on_cpu(), 0u32);
                loop {
                    let _ = guard::tools::shell::syntax::parse(&line);
                    k += 1;
                    let used = on_cpu().saturating_sub(start);
                    if used >= Duration::from_millis(200) || k >= 100_000 {
                        return (used / k).as_secs_f64();
                    }
                }
            };
            let (a, b) = (at(20_000), at(40_000));
            println!("    parse only: {:.3} ms, {:.3} ms, ratio {:.2}", a * 1e3, b * 1e3, b / a);
        }
    }
}

fn main() {
    if std::env::args().any(|a| a == "parser") {
        parser();
        return;
    }
    parser();
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("state");
    let home_s = home.to_str().unwrap().to_string();
    let env = [("GUARD_HOME", home_s.as_str())];
    std::env::set_current_dir(tmp.path()).unwrap();
    println!(
        "guard benchmarks ({} cores), binary {}\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        GUARD_BIN.as_str()
    );

    // 1. Audit verify throughput on a 300,000-record log.
    let n_records = 300_000u64;
    let mut log = Vec::new();
    let mut prev = guard::audit::ZERO_HASH.to_string();
    for seq in 0..n_records {
        let mut m = Map::new();
        m.insert("seq".into(), json!(seq));
        m.insert("prev".into(), json!(prev));
        m.insert("kind".into(), json!(if seq == 0 { "genesis" } else { "decision" }));
        m.insert("ts".into(), json!("2026-11-23T12:00:00.000Z"));
        m.insert("tool".into(), json!("shell"));
        m.insert("command".into(), json!(format!("cargo test --package p{seq}")));
        m.insert("decision".into(), json!("allow"));
        m.insert("reasons".into(), json!([]));
        let h = guard::digest::sha256_hex(guard::audit::canonical(&m).unwrap().as_bytes());
        m.insert("hash".into(), json!(h));
        serde_json::to_writer(&mut log, &m).unwrap();
        log.push(b'\n');
        prev = h;
    }
    let t = Instant::now();
    let v = guard::audit::verify_bytes(&log, Some((n_records - 1, prev.as_str()))).unwrap();
    let dt = t.elapsed();
    println!(
        "audit verify: {} records ({:.1} MB) in {} = {:.0} records/s",
        v.records,
        log.len() as f64 / 1e6,
        ms(dt),
        v.records as f64 / dt.as_secs_f64()
    );

    // 2. One fsync'd append, in process.
    let paths = guard::state::Paths { home: tmp.path().join("append"), policy: None };
    guard::audit::append(&paths, "bench", Map::new()).unwrap();
    let mut ts = Vec::new();
    for i in 0..300 {
        let mut m = Map::new();
        m.insert("i".into(), json!(i));
        let t = Instant::now();
        guard::audit::append(&paths, "bench", m).unwrap();
        ts.push(t.elapsed());
    }
    println!("audit append (lock, read tip, write, fdatasync, head): median {}", ms(median(ts)));

    // 3. Whole-process `guard explain shell 'ls'` against starting /bin/true.
    let r = side_by_side(&[&["/bin/true"], &[GUARD_BIN.as_str(), "explain", "shell", "ls"]], &env, 300);
    println!("process: /bin/true {} | guard explain shell 'ls' {}", ms(r[0]), ms(r[1]));

    // 4. `guard shell -c true` against `bash -c true`, audit records included: contained (the
    // default), contained with the network (no network namespace), and uncontained.
    let off = tmp.path().join("off.toml");
    std::fs::write(&off, "[sandbox]\nmode = \"off\"\n").unwrap();
    let off_env = [("GUARD_HOME", home_s.as_str()), ("GUARD_POLICY", off.to_str().unwrap())];
    let r = side_by_side(&[&["/bin/bash", "-c", "true"], &[GUARD_BIN.as_str(), "shell", "-c", "true"]], &env, 300);
    println!(
        "process: bash -c true {} | guard shell -c true (contained) {} | guard adds {}",
        ms(r[0]),
        ms(r[1]),
        ms(r[1].saturating_sub(r[0]))
    );
    let r =
        side_by_side(&[&["/bin/bash", "-c", "true"], &[GUARD_BIN.as_str(), "shell", "-c", "curl --version >/dev/null; true"]], &env, 300);
    println!("process: guard shell -c 'curl …' (contained, with network) {} | adds {}", ms(r[1]), ms(r[1].saturating_sub(r[0])));
    let r = side_by_side(&[&["/bin/bash", "-c", "true"], &[GUARD_BIN.as_str(), "shell", "-c", "true"]], &off_env, 300);
    println!(
        "process: bash -c true {} | guard shell -c true (uncontained) {} | guard adds {}",
        ms(r[0]),
        ms(r[1]),
        ms(r[1].saturating_sub(r[0]))
    );

    // 5. NL2Bash through `guard explain --jsonl`, whole process, and the slowest single line.
    let corpus = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/nl2bash/commands.txt")).unwrap();
    let mut input = String::new();
    for l in corpus.lines() {
        input.push_str(&json!({"tool": "shell", "line": l}).to_string());
        input.push('\n');
    }
    let lines = corpus.lines().count();
    for (what, policy_env) in [("contained", None), ("containment off", Some(off.to_str().unwrap()))] {
        let mut runs = Vec::new();
        for _ in 0..7 {
            let mut c = Command::new(GUARD_BIN.as_str());
            c.args(["explain", "--jsonl"]).env("GUARD_HOME", &home_s).stdin(Stdio::piped()).stdout(Stdio::null());
            if let Some(p) = policy_env {
                c.env("GUARD_POLICY", p);
            }
            let mut child = c.spawn().unwrap();
            let mut si = child.stdin.take().unwrap();
            let data = input.clone();
            let t = Instant::now();
            let w = std::thread::spawn(move || si.write_all(data.as_bytes()));
            child.wait().unwrap();
            runs.push(t.elapsed());
            w.join().unwrap().unwrap();
        }
        let m = median(runs);
        println!(
            "explain --jsonl ({what}): {lines} NL2Bash lines in {} (median of 7, whole process) = {:.0} lines/s",
            ms(m),
            lines as f64 / m.as_secs_f64()
        );
    }
    let policy = guard::policy::builtin().unwrap();
    let ctx = guard::request::Context::example();
    let (mut slowest, mut slowest_line) = (Duration::ZERO, String::new());
    for l in corpus.lines() {
        let t = Instant::now();
        let _ = guard::tools::shell::classify_line(l, &policy, &ctx);
        let d = t.elapsed();
        if d > slowest {
            slowest = d;
            slowest_line = l.to_string();
        }
    }
    println!("slowest NL2Bash line: {} ({:.60})", ms(slowest), slowest_line);

    terraform(tmp.path());
    kubectl(tmp.path());
}

fn which(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

/// `guard terraform plan` against raw `terraform plan` (+ `show -json`), and `guard terraform
/// apply <id>` against raw `terraform apply` of a plan file, on a `terraform_data` config.
fn terraform(tmp: &std::path::Path) {
    if !which("terraform") {
        println!("terraform: SKIPPED (no terraform on PATH)");
        return;
    }
    let dir = tmp.join("tf");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("main.tf"), "resource \"terraform_data\" \"x\" {\n  input = \"bench\"\n}\n").unwrap();
    std::fs::write(tmp.join("tfrc"), "").unwrap();
    let state = tmp.join("tf-state");
    std::fs::write(tmp.join("tf-policy.toml"), "[terraform]\napply = \"allow\"\n").unwrap();
    let run = |args: &[&str], guard: bool| -> (Duration, String) {
        let mut c = if guard { Command::new(GUARD_BIN.as_str()) } else { Command::new("terraform") };
        c.args(args)
            .current_dir(&dir)
            .env("TF_CLI_CONFIG_FILE", tmp.join("tfrc"))
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("GUARD_HOME", &state)
            .env("GUARD_POLICY", tmp.join("tf-policy.toml"))
            .stdin(Stdio::null());
        let t = Instant::now();
        let out = c.output().unwrap();
        (t.elapsed(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    run(&["init", "-input=false"], false);
    let (mut raw_plan, mut raw_show, mut guard_plan, mut raw_apply, mut guard_apply) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..5 {
        let (d, _) = run(&["plan", "-input=false", "-out=raw.tfplan"], false);
        raw_plan.push(d);
        raw_show.push(run(&["show", "-json", "raw.tfplan"], false).0);
        let (d, out) = run(&["terraform", "plan"], true);
        guard_plan.push(d);
        let id = out.find("guard: plan p-").map(|k| out[k + 12..k + 46].to_string()).unwrap();
        // Applies alternate: a raw apply of the raw plan, then a guard apply of guard's plan
        // (each applied plan changes state, so every round plans anew from a destroyed state).
        if i > 0 {
            raw_apply.push(run(&["apply", "-input=false", "raw.tfplan"], false).0);
            run(&["destroy", "-auto-approve", "-input=false"], false);
            let (d, _) = run(&["plan", "-input=false", "-out=raw.tfplan"], false);
            let _ = d;
            let (_, out) = run(&["terraform", "plan"], true);
            let id2 = out.find("guard: plan p-").map(|k| out[k + 12..k + 46].to_string()).unwrap();
            guard_apply.push(run(&["terraform", "apply", &id2], true).0);
            run(&["destroy", "-auto-approve", "-input=false"], false);
        }
        let _ = id;
    }
    println!(
        "terraform plan: raw {} + show -json {} | guard terraform plan {}",
        ms(median(raw_plan)),
        ms(median(raw_show)),
        ms(median(guard_plan))
    );
    let (ra, ga) = (median(raw_apply), median(guard_apply));
    println!(
        "terraform apply of a plan file: raw {} | guard terraform apply <id> {} | guard adds {}",
        ms(ra),
        ms(ga),
        ms(ga.saturating_sub(ra))
    );
}

/// `guard kubectl get pods` (kubeconfig read, classification, audit) against raw kubectl,
/// both talking to the API stand-in, interleaved.
fn kubectl(tmp: &std::path::Path) {
    if !which("kubectl") {
        println!("kubectl: SKIPPED (no kubectl on PATH)");
        return;
    }
    let api = kube_api::KubeApi::start();
    let dir = tmp.join("k");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("m.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  a: b\n").unwrap();
    let state = tmp.join("k-state");
    let kc = api.kubeconfig();
    let cache = api.cache_dir();
    let env = [("KUBECONFIG", kc.as_str()), ("KUBECACHEDIR", cache.as_str()), ("GUARD_HOME", state.to_str().unwrap())];
    let r = side_by_side(&[&["kubectl", "get", "pods"], &[GUARD_BIN.as_str(), "kubectl", "get", "pods"]], &env, 200);
    println!(
        "kubectl get pods against the stand-in: raw {} | guard kubectl {} | guard adds {}",
        ms(r[0]),
        ms(r[1]),
        ms(r[1].saturating_sub(r[0]))
    );
    // The broker's round trip: 20 `kubectl version --client` inside one contained line (each
    // through the links, the socket and a guard the broker starts) against 20 `guard kubectl
    // version --client` from an uncontained bash loop; the difference per call is the broker's.
    let inside = "for i in $(seq 20); do kubectl version --client >/dev/null; done";
    let outside = format!("for i in $(seq 20); do {} kubectl version --client >/dev/null; done", GUARD_BIN.as_str());
    let r = side_by_side(&[&[GUARD_BIN.as_str(), "shell", "-c", inside], &["/bin/bash", "-c", outside.as_str()]], &env, 30);
    println!(
        "broker round trip: kubectl version --client through the broker, per call over the same call outside: {}",
        ms(r[0].saturating_sub(r[1]) / 20)
    );
    std::env::set_current_dir(&dir).unwrap();
    let r = side_by_side(&[&["kubectl", "diff", "-f", "m.yaml"], &[GUARD_BIN.as_str(), "kubectl", "diff", "-f", "m.yaml"]], &env, 200);
    println!(
        "kubectl diff -f m.yaml (manifest read, hashed, snapshotted): raw {} | guard kubectl {} | guard adds {}",
        ms(r[0]),
        ms(r[1]),
        ms(r[1].saturating_sub(r[0]))
    );
}
