//! Issue 13 item 11: an approval binds the content of the scripts a line runs; a script
//! swapped after approval does not run its new content.

use crate::support::{PASS, Test, pty};

fn request_id(msg: &str) -> String {
    let i = msg.find("guard approve r-").unwrap_or_else(|| panic!("{msg}")) + "guard approve ".len();
    msg[i..i + 34].to_string()
}

#[test]
fn a_script_swapped_after_approval_does_not_run_its_new_content() {
    let t = Test::new();
    // Uncontained: a contained line may run the project's scripts without a human at all.
    std::fs::write(t.dir.path().join("policy.toml"), "[sandbox]\nmode = \"off\"\n").unwrap();
    crate::support::approver_init(t.guard(&["approver", "init"]));
    let work = t.work();
    let script = work.join("deploy.sh");
    let approved = "echo approved >> out.txt\n";
    for line in ["bash deploy.sh", "source ./deploy.sh", "./deploy.sh"] {
        std::fs::write(&script, format!("#!/bin/bash\n{approved}")).unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let out = t.guard(&["shell", "-c", line]).output().unwrap();
        assert_eq!(out.status.code(), Some(75), "{line}");
        let id = request_id(&String::from_utf8_lossy(&out.stderr));
        let shown = pty(t.guard(&["approve", &id]), &[("Approver passphrase", PASS), ("Type yes", "yes")]);
        assert!(shown.contains(&format!("script:{}", script.display())), "approve must show the script's hash: {shown}");
        // Swapped after approval: the re-run is a new request, and nothing ran.
        std::fs::write(&script, "#!/bin/bash\necho SWAPPED >> out.txt\n").unwrap();
        let out = t.guard(&["shell", "-c", line]).output().unwrap();
        assert_eq!(out.status.code(), Some(75), "{line}: the swapped script ran");
        assert_ne!(request_id(&String::from_utf8_lossy(&out.stderr)), id);
        // The approved bytes back: the approval applies, once.
        std::fs::write(&script, format!("#!/bin/bash\n{approved}")).unwrap();
        let out = t.guard(&["shell", "-c", line]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{line}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let out = std::fs::read_to_string(work.join("out.txt")).unwrap();
    assert_eq!(out, "approved\n".repeat(3), "{out}");
}

/// The three ways a line runs a script by name, each run through bash, the kernel's `#!` loader
/// and bash again.
const FORMS: &[&str] = &["bash x.sh", "./x.sh", "source ./x.sh"];
/// The approved script: one line in out.txt per run. The swapped one: a canary file.
const APPROVED: &str = "#!/bin/bash\necho approved >> out.txt\n";
const SWAPPED: &str = "#!/bin/bash\necho SWAPPED >> out.txt\ntouch pwned\n";

/// A contained project (the default policy) with an approver and `x.sh` holding [`APPROVED`].
fn contained() -> Test {
    let t = Test::new();
    crate::support::approver_init(t.guard(&["approver", "init"]));
    write_script(&t, APPROVED);
    t
}

fn write_script(t: &Test, text: &str) {
    let script = t.work().join("x.sh");
    // In place: the same inode, truncated and rewritten (`cat > x.sh`).
    std::fs::write(&script, text).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

/// A swap by rename, as editors and atomic writers do: a new file renamed over the script.
fn rename_script(t: &Test, text: &str) {
    let tmp = t.work().join(".x.sh.new");
    std::fs::write(&tmp, text).unwrap();
    std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::rename(&tmp, t.work().join("x.sh")).unwrap();
}

/// `guard shell --network -c LINE` (the network widening makes even a contained line need a
/// human), approved; returns the approval screen.
fn approve(t: &Test, line: &str) -> String {
    let out = t.guard(&["shell", "--network", "-c", line]).output().unwrap();
    assert_eq!(out.status.code(), Some(75), "{line}: {}", String::from_utf8_lossy(&out.stderr));
    let id = request_id(&String::from_utf8_lossy(&out.stderr));
    pty(t.guard(&["approve", &id]), &[("Approver passphrase", PASS), ("Type yes", "yes")])
}

fn wait_for(path: &std::path::Path) {
    for _ in 0..1000 {
        if path.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("{} never appeared", path.display());
}

fn out_txt(t: &Test) -> String {
    std::fs::read_to_string(t.work().join("out.txt")).unwrap_or_default()
}

#[test]
fn a_script_rewritten_in_place_while_the_approved_line_runs_does_not_run_its_new_content() {
    let t = contained();
    for form in FORMS {
        write_script(&t, APPROVED);
        let _ = std::fs::remove_file(t.work().join("go"));
        let _ = std::fs::remove_file(t.work().join("started"));
        // The line waits after it started: the swap lands between the decision and bash's open.
        let line = format!("touch started; until [ -e go ]; do sleep 0.02; done; {form}");
        let shown = approve(&t, &line);
        assert!(shown.contains(&format!("script:{}", t.work().join("x.sh").display())), "{form}: {shown}");
        let child = t.guard(&["shell", "--network", "-c", &line]).stderr(std::process::Stdio::piped()).spawn().unwrap();
        wait_for(&t.work().join("started"));
        write_script(&t, SWAPPED);
        std::fs::write(t.work().join("go"), "").unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{form}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!t.work().join("pwned").exists(), "{form}: the swapped script ran");
        // Inside the line the script is the read-only approved copy; outside it is the file.
        assert_eq!(std::fs::read_to_string(t.work().join("x.sh")).unwrap(), SWAPPED);
    }
    assert_eq!(out_txt(&t), "approved\n".repeat(FORMS.len()));
}

#[test]
fn a_script_swapped_while_guard_waits_for_the_approval_is_refused() {
    for (how, swap) in [("in place", write_script as fn(&Test, &str)), ("by rename", rename_script)] {
        let t = contained();
        let line = "bash x.sh";
        // The request exists; `--wait` judges the line (binding x.sh's bytes), then waits.
        let out = t.guard(&["shell", "--network", "-c", line]).output().unwrap();
        let id = request_id(&String::from_utf8_lossy(&out.stderr));
        let waiter = t.guard(&["--wait=60s", "shell", "--network", "-c", line]).stderr(std::process::Stdio::piped()).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        swap(&t, SWAPPED);
        pty(t.guard(&["approve", &id]), &[("Approver passphrase", PASS), ("Type yes", "yes")]);
        let out = waiter.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(77), "{how}: {err}");
        assert!(err.contains("changed between the decision and the run"), "{how}: {err}");
        assert!(!t.work().join("pwned").exists() && out_txt(&t).is_empty(), "{how}: something ran");
    }
}

#[test]
fn a_script_swapped_in_place_in_a_racing_loop_never_runs_its_new_content() {
    let t = contained();
    let runs = 50;
    let line = format!("touch started; i=0; while [ $i -lt {runs} ]; do bash x.sh; ./x.sh; source ./x.sh; i=$((i+1)); done");
    approve(&t, &line);
    let child = t.guard(&["shell", "--network", "-c", &line]).stderr(std::process::Stdio::piped()).spawn().unwrap();
    wait_for(&t.work().join("started"));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let racer = {
        let (stop, script) = (stop.clone(), t.work().join("x.sh"));
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let text = if swaps.is_multiple_of(2) { SWAPPED } else { APPROVED };
                let _ = std::fs::write(&script, text);
                swaps += 1;
            }
            swaps
        })
    };
    let out = child.wait_with_output().unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let swaps = racer.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(swaps > 10, "the racer swapped only {swaps} times");
    assert!(!t.work().join("pwned").exists(), "the swapped script ran");
    assert_eq!(out_txt(&t), "approved\n".repeat(runs * 3), "every run must be the approved bytes");
}

/// A script swapped by a rename from outside while the approved line runs (editors and atomic
/// writers rename a new file over the old): the kernel detaches the copy's mount from that
/// name, so guard stops the line when the name changes.
#[test]
fn a_script_renamed_over_while_the_approved_line_waits_stops_the_line() {
    let t = contained();
    std::fs::create_dir_all(t.work().join("sub")).unwrap();
    let away = |t: &Test| {
        // The script renamed away (the mount moves with it), a new one put in its place.
        std::fs::rename(t.work().join("x.sh"), t.work().join("old.sh")).unwrap();
        write_script(t, SWAPPED);
    };
    let dir = |t: &Test| {
        // A directory on the script's path renamed away and rebuilt.
        std::fs::rename(t.work().join("sub"), t.work().join("sub.old")).unwrap();
        std::fs::create_dir_all(t.work().join("sub")).unwrap();
        std::fs::write(t.work().join("sub/x.sh"), SWAPPED).unwrap();
    };
    let over = |t: &Test| rename_script(t, SWAPPED);
    type Swap<'a> = &'a dyn Fn(&Test);
    let cases: [(&str, Swap); 5] =
        [("bash x.sh", &over), ("./x.sh", &over), ("source ./x.sh", &over), ("bash x.sh", &away), ("bash sub/x.sh", &dir)];
    for (form, swap) in cases {
        write_script(&t, APPROVED);
        let _ = std::fs::remove_dir_all(t.work().join("sub.old"));
        std::fs::write(t.work().join("sub/x.sh"), APPROVED).unwrap();
        for f in ["go", "started", "old.sh"] {
            let _ = std::fs::remove_file(t.work().join(f));
        }
        let line = format!("touch started; until [ -e go ]; do sleep 0.02; done; {form}");
        approve(&t, &line);
        let child = t.guard(&["shell", "--network", "-c", &line]).stderr(std::process::Stdio::piped()).spawn().unwrap();
        wait_for(&t.work().join("started"));
        swap(&t);
        // The line is stopped while it still waits (a rename during a long build step); `go`
        // is given only after that, or after 10 s.
        let mut child = child;
        let t0 = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() && t0.elapsed() < std::time::Duration::from_secs(10) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        std::fs::write(t.work().join("go"), "").unwrap();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(77), "{form}: {err}");
        assert!(err.contains("was renamed, replaced or removed"), "{form}: {err}");
        assert!(!t.work().join("pwned").exists(), "{form}: the swapped script ran");
    }
    assert_eq!(out_txt(&t), "", "nothing of the scripts ran");
}

/// What a swapped script does when it runs: its body (bash reading it) or its `#!` line (the
/// kernel reading it on `./x.sh`) makes a canary file.
const SWAPPED_BODY: &str = "#!/bin/bash\necho SWAPPED >> out.txt\ntouch pwned\n";
const SWAPPED_SHEBANG: &str = "#!/usr/bin/env -S touch pwned\necho approved >> out.txt\n";

/// Runs `form` in `lines` approved lines of `runs` rounds each while `racer` (started once the
/// line has started, stopped when it ends) swaps the script as fast as it can. Each line either
/// runs every round with the approved output, or is stopped (77) with a `guard:` line; the
/// canary never appears. Returns how many lines were stopped and how many swaps landed.
fn race(
    t: &Test,
    form: &str,
    (lines, runs): (usize, usize),
    racer: impl Fn(u64) + Send + Sync + Clone + 'static,
    reset: impl Fn(),
) -> (usize, u64) {
    let rounds_per_run = form.split(';').count();
    let (mut stopped, mut total_swaps) = (0, 0);
    for _ in 0..lines {
        let _ = std::fs::remove_file(t.work().join("started"));
        let _ = std::fs::remove_file(t.work().join("out.txt"));
        let line = format!("touch started; i=0; while [ $i -lt {runs} ]; do {form}; i=$((i+1)); done");
        approve(t, &line);
        let child = t.guard(&["shell", "--network", "-c", &line]).stderr(std::process::Stdio::piped()).spawn().unwrap();
        wait_for(&t.work().join("started"));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let handle = {
            let (stop, racer) = (stop.clone(), racer.clone());
            std::thread::spawn(move || {
                let mut swaps = 0u64;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    racer(swaps);
                    swaps += 1;
                }
                swaps
            })
        };
        let out = child.wait_with_output().unwrap();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        total_swaps += handle.join().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!t.work().join("pwned").exists(), "{form}: the swapped script ran: {err}");
        let printed = out_txt(t);
        assert!(printed.lines().all(|l| l == "approved"), "{form}: {printed}");
        match out.status.code() {
            Some(0) => assert_eq!(printed.lines().count(), runs * rounds_per_run, "{form}: {err}"),
            Some(77) => {
                assert_eq!(err.lines().filter(|l| l.starts_with("guard:")).count(), 1, "{form}: {err}");
                stopped += 1;
            }
            other => panic!("{form}: exit {other:?}: {err}"),
        }
        // The approved bytes back for the next line's approval.
        reset();
    }
    (stopped, total_swaps)
}

/// Issue 13 item 11, the race the mount and the watch left open: a loop renaming a new file
/// over the script as fast as it can (an editor's or an atomic writer's swap, from outside the
/// line) while the approved line runs it by every route — `bash x.sh`, `source`, `.`, and
/// `./x.sh` (the kernel's `#!` loader, then bash opening it). Before the script supervisor a
/// loop like this got 27 runs of the new content in 10 lines; now each open of the script's
/// name gets the approved copy, and the line is stopped at the first look after a rename.
#[test]
fn a_script_renamed_over_in_a_racing_loop_never_runs_its_new_content() {
    let t = contained();
    let work = t.work();
    let racer = move |n: u64| {
        let tmp = work.join(format!(".x.sh.{n}"));
        let text = if n.is_multiple_of(2) { SWAPPED_BODY } else { SWAPPED_SHEBANG };
        let _ = std::fs::write(&tmp, text);
        let _ = std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o755));
        let _ = std::fs::rename(&tmp, work.join("x.sh"));
    };
    let (stopped, swaps) = race(&t, "bash x.sh; source ./x.sh; . x.sh; ./x.sh", (6, 20), racer, || write_script(&t, APPROVED));
    assert!(swaps > 10, "the racer swapped only {swaps} times");
    assert!(stopped > 0, "no line saw the renames");
}

/// The same race one level up: the script's directory renamed away and a new one, holding a
/// new script, renamed into its place (the mount moves away with the old directory).
#[test]
fn a_directory_on_the_script_path_renamed_and_rebuilt_in_a_racing_loop_never_runs_its_new_content() {
    let t = contained();
    let reset = || {
        let sub = t.work().join("sub");
        let _ = std::fs::remove_dir_all(&sub);
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("x.sh"), APPROVED).unwrap();
        std::fs::set_permissions(sub.join("x.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    };
    reset();
    let work = t.work();
    let racer = move |n: u64| {
        let new = work.join(format!(".sub.{n}"));
        let _ = std::fs::create_dir(&new);
        let _ = std::fs::write(new.join("x.sh"), if n.is_multiple_of(2) { SWAPPED_BODY } else { SWAPPED_SHEBANG });
        let _ = std::fs::set_permissions(new.join("x.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755));
        let _ = std::fs::rename(work.join("sub"), work.join(format!(".old.{n}")));
        let _ = std::fs::rename(&new, work.join("sub"));
    };
    let (stopped, swaps) = race(&t, "bash sub/x.sh; source sub/x.sh; ./sub/x.sh", (3, 20), racer, reset);
    assert!(swaps > 10, "the racer swapped only {swaps} times");
    assert!(stopped > 0, "no line saw the renames");
}

/// A script reached through a symlink (`bash link.sh` → `x.sh`): a rename over the link's
/// target detaches the mount from the target, and the link then leads to the new file.
#[test]
fn a_rename_over_a_symlinked_scripts_target_does_not_run_its_new_content() {
    let t = contained();
    std::os::unix::fs::symlink("x.sh", t.work().join("link.sh")).unwrap();
    for form in ["bash link.sh", "source ./link.sh", "./link.sh"] {
        write_script(&t, APPROVED);
        for f in ["go", "started"] {
            let _ = std::fs::remove_file(t.work().join(f));
        }
        let line = format!("touch started; until [ -e go ]; do sleep 0.02; done; {form}");
        let shown = approve(&t, &line);
        assert!(shown.contains("script:"), "{form}: the link's script must be bound: {shown}");
        let child = t.guard(&["shell", "--network", "-c", &line]).stderr(std::process::Stdio::piped()).spawn().unwrap();
        wait_for(&t.work().join("started"));
        rename_script(&t, if form.starts_with("./") { SWAPPED_SHEBANG } else { SWAPPED_BODY });
        std::fs::write(t.work().join("go"), "").unwrap();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!t.work().join("pwned").exists(), "{form}: the swapped script ran: {err}");
        match out.status.code() {
            Some(0) => assert_eq!(out_txt(&t).lines().last(), Some("approved"), "{form}: {err}"),
            Some(77) => assert!(err.contains("guard:"), "{form}: {err}"),
            other => panic!("{form}: exit {other:?}: {err}"),
        }
    }
    assert!(out_txt(&t).lines().all(|l| l == "approved"), "{}", out_txt(&t));
}

/// A line that binds a script runs a multithreaded interpreter: node's thread pool opens
/// files from several threads at once, each open answered by the line's init, and the bound
/// script read from node gets the approved copy.
#[test]
fn a_multithreaded_interpreter_in_a_line_that_binds_a_script_opens_files_and_reads_the_copy() {
    if !crate::support::require_tool("node") {
        return;
    }
    let t = contained();
    let js = "const fs=require('fs');let n=0;const N=400;for(let i=0;i<N;i++){fs.readFile(i%2?'/etc/hostname':'x.sh','utf8',(e,d)=>{if(e)throw e;if(i%2==0&&!d.includes('approved'))throw new Error('not the copy');if(++n==N)console.log('read '+n)})}";
    std::fs::write(t.work().join("many.js"), js).unwrap();
    let line = "bash x.sh; node many.js";
    approve(&t, line);
    let out = t.guard(&["shell", "--network", "-c", line]).output().unwrap();
    let (stdout, err) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout} {err}");
    assert!(stdout.contains("read 400"), "{stdout} {err}");
    assert_eq!(out_txt(&t), "approved\n");
}

/// The supervisor costs nothing where it guards nothing: a contained line that binds no
/// script runs under guard's one seccomp filter; one that binds a script under two (the
/// second hands its opens to the init), and cannot use io_uring, whose own `openat` the
/// supervisor would not see.
#[test]
fn a_line_without_bound_scripts_has_no_supervisor() {
    let t = contained();
    let filters = "grep Seccomp_filters /proc/self/status";
    let out = t.guard(&["shell", "-c", filters]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).trim().ends_with("\t1"), "{}", String::from_utf8_lossy(&out.stdout));
    std::fs::write(t.work().join("x.sh"), format!("#!/bin/bash\n{filters}\n")).unwrap();
    let line = "bash x.sh";
    approve(&t, line);
    let out = t.guard(&["shell", "--network", "-c", line]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).trim().ends_with("\t2"), "{}", String::from_utf8_lossy(&out.stdout));
    if crate::support::require_tool("perl") {
        // io_uring_setup(2): refused (EPERM) by the filter, not merely failing on bad arguments.
        let probe = "perl -e 'syscall(425, 1, 0); print $!+0, \"\\n\"'";
        std::fs::write(t.work().join("x.sh"), format!("#!/bin/bash\n{probe}\n")).unwrap();
        approve(&t, line);
        let out = t.guard(&["shell", "--network", "-c", line]).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1", "{}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Red team: an `O_PATH` open of a bound script in a supervised line fails with `EBADF`. The
/// supervisor answers it with `SECCOMP_IOCTL_NOTIF_ADDFD` of an `O_PATH` copy, which the kernel
/// refuses (`fget` skips `O_PATH` files) and the caller gets the ioctl's errno; outside guard
/// (and in a line without bound scripts) the same open works.
#[test]
#[ignore = "red: O_PATH open of a bound script fails with EBADF under the supervisor"]
fn red_an_o_path_open_of_a_bound_script_fails_with_ebadf() {
    if !crate::support::require_tool("python3") {
        return;
    }
    let t = contained();
    std::fs::write(
        t.work().join("opath.py"),
        "import os\ntry:\n    os.open('x.sh', os.O_PATH)\n    print('opath ok')\nexcept OSError as e:\n    print('opath errno', e.errno)\n",
    )
    .unwrap();
    let line = "bash x.sh; python3 opath.py";
    approve(&t, line);
    let out = t.guard(&["shell", "--network", "-c", line]).output().unwrap();
    let (stdout, err) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout} {err}");
    assert!(stdout.contains("opath ok"), "{stdout} {err}");
}

/// Red team: a path of 4096 bytes or more (`./././…/x.sh`) is one the kernel refuses
/// (`ENAMETOOLONG`); the supervisor reads up to a page past `PATH_MAX`, folds the `.`s by name
/// and hands the caller a descriptor of the copy: a call the kernel denies gets through (and an
/// exec of such a path stops the line as "replaced").
#[test]
#[ignore = "red: an overlong path to a bound script gets a descriptor where the kernel gives ENAMETOOLONG"]
fn red_an_overlong_path_to_a_bound_script_is_answered_where_the_kernel_refuses_it() {
    if !crate::support::require_tool("python3") {
        return;
    }
    let t = contained();
    std::fs::write(
        t.work().join("long.py"),
        "import os\np = '/'.join(['.'] * 2100) + '/x.sh'\ntry:\n    os.open(p, 0)\n    print('long opened')\nexcept OSError as e:\n    print('long errno', e.errno)\n",
    )
    .unwrap();
    let line = "bash x.sh; python3 long.py";
    approve(&t, line);
    let out = t.guard(&["shell", "--network", "-c", line]).output().unwrap();
    let (stdout, err) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout} {err}");
    assert!(stdout.contains(&format!("long errno {}", libc::ENAMETOOLONG)), "{stdout} {err}");
}
