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
