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
