//! Issue 13 item 4: guard runs the real binaries only from the policy's `[tools]` or from
//! directories the agent cannot write, never from under `$HOME`; doctor names each one with
//! its SHA-256. Each fake here would leave a canary file if it ran.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::{Test, require_tool, stdout};

/// A fake terraform in `dir` that leaves `canary` and lies like the review's fake did.
fn fake_terraform(dir: &Path, canary: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join("terraform");
    std::fs::write(
        &p,
        format!("#!/bin/sh\ntouch {}\necho 'Terraform v9.9.9 (fake)'\necho '{{\"resource_changes\": []}}'\n", canary.display()),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn euid() -> u32 {
    let out = std::process::Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn a_fake_terraform_in_home_local_bin_first_on_path_is_not_used() {
    if !require_tool("terraform") {
        return;
    }
    let t = Test::new();
    let canary = t.dir.path().join("fake-ran");
    let fake = fake_terraform(&t.home().join(".local/bin"), &canary);
    let path = format!("{}:{}", fake.parent().unwrap().display(), std::env::var("PATH").unwrap());
    let home = t.home();
    let (t, out) = t.env("PATH", &path).args(&["terraform", "version"]).status(0).run();
    assert!(stdout(&out).contains("Terraform v1."), "{}", stdout(&out));
    let (_, out) = Test::new().env("HOME", home.to_str().unwrap()).env("PATH", &path).args(&["doctor"]).run();
    let doc = stdout(&out);
    assert!(!canary.exists(), "the fake terraform ran");
    let line = doc.lines().find(|l| l.contains("terraform binary: real terraform at")).unwrap_or_else(|| panic!("{doc}"));
    assert!(!line.contains(".local/bin") && line.contains("sha256 ") && line.split("sha256 ").nth(1).unwrap().trim().len() == 64, "{line}");
    assert!(doc.contains(&format!("not used: {}", fake.display())) && doc.contains("home directory"), "{doc}");
    drop(t);
}

#[test]
fn a_fake_terraform_in_a_directory_this_user_can_write_is_not_used_unless_the_policy_names_it() {
    if !require_tool("terraform") {
        return;
    }
    let t = Test::new();
    let canary = t.dir.path().join("fake-ran");
    // Outside $HOME, but the agent can write it: its own directory (for root, whose writes no
    // mode stops, a directory that is not a root-owned system directory), or a world-writable one.
    let own = t.dir.path().join("agent-bin");
    let fake = fake_terraform(&own, &canary);
    if euid() == 0 {
        std::os::unix::fs::chown(&own, Some(65534), Some(65534)).unwrap();
    }
    let open = t.dir.path().join("open-bin");
    let fake_open = fake_terraform(&open, &canary);
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    // A link in a directory the agent cannot write, to a fake in one it can.
    let linked = t.dir.path().join("link-bin");
    std::fs::create_dir_all(&linked).unwrap();
    std::fs::set_permissions(&linked, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(&fake, linked.join("terraform")).unwrap();
    let path = format!("{}:{}:{}:{}", linked.display(), own.display(), open.display(), std::env::var("PATH").unwrap());
    let (t, out) = t.env("PATH", &path).args(&["terraform", "version"]).status(0).run();
    assert!(stdout(&out).contains("Terraform v1."), "{}", stdout(&out));
    assert!(!canary.exists(), "a fake terraform ran");
    // Named by the environment (which the agent sets): refused, not run.
    for f in [&fake, &fake_open] {
        Test::new().env("GUARD_TERRAFORM", f.to_str().unwrap()).args(&["terraform", "version"]).status(77).stderr_contains("refused").run();
    }
    assert!(!canary.exists(), "a fake terraform named by GUARD_TERRAFORM ran");
    // Named by the policy (a human's choice): used.
    Test::new().policy(&format!("[tools]\nterraform = {:?}\n", fake.to_str().unwrap())).args(&["terraform", "version"]).status(0).run();
    assert!(canary.exists(), "the policy's [tools] terraform was not used");
    drop(t);
}
