//! Wholesale loss of the project's work by plain deletion (issue 15 item 3), replayed in real git
//! repositories (`git init`, `add`, `commit`): what git tracks is guard's to protect, what it
//! does not (build outputs, caches) the agent's to delete, read from `.git/index` by guard's own
//! parser in every shape git writes it — and never by running git.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Test, require_tool, stderr, stdout};

/// Runs real git in `dir` with no user or system configuration.
fn git(dir: &Path, home: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "protocol.file.allow=always",
        ])
        .args(args)
        .current_dir(dir)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A committed project in the test's work dir: `src/`, `docs/`, `README.md` tracked; `target/`,
/// `node_modules/` and `build.log` present and ignored or untracked.
fn project(t: &Test) -> PathBuf {
    let p = t.work();
    for (f, text) in [
        ("src/main.rs", "fn main() {}\n"),
        ("src/lib/mod.rs", "\n"),
        ("docs/guide.md", "# guide\n"),
        ("README.md", "# project\n"),
        (".gitignore", "target/\nnode_modules/\n"),
        ("target/debug/app", "binary\n"),
        ("node_modules/left-pad/index.js", "\n"),
        ("build.log", "log\n"),
    ] {
        std::fs::create_dir_all(p.join(f).parent().unwrap()).unwrap();
        std::fs::write(p.join(f), text).unwrap();
    }
    git(&p, &t.home(), &["init", "-q"]);
    git(&p, &t.home(), &["add", "src", "docs", "README.md", ".gitignore"]);
    git(&p, &t.home(), &["commit", "-qm", "init"]);
    p
}

fn off(t: Test) -> Test {
    t.policy("[sandbox]\nmode = \"off\"\n")
}

/// `guard shell -c LINE` in `dir`; the exit code and stderr.
fn shell(t: &Test, dir: &Path, line: &str) -> (Option<i32>, String) {
    let out = t.guard(&["shell", "-c", line]).current_dir(dir).output().unwrap();
    (out.status.code(), format!("{}{}", stdout(&out), stderr(&out)))
}

#[test]
fn rm_rf_src_escalates_and_src_survives() {
    if !require_tool("git") {
        return;
    }
    for t in [Test::new(), off(Test::new())] {
        let p = project(&t);
        for line in
            ["rm -rf src", "rm -rf ./*", "rm -rf *", "rm -rf .git", "rm --recur docs", "find . -delete", "find . -name '*.rs' -delete"]
        {
            let (code, out) = shell(&t, &p, line);
            assert_eq!(code, Some(75), "{line}: {out}");
            assert!(out.contains("shell.project-delete") || out.contains("approve"), "{line}: {out}");
        }
        assert!(
            p.join("src/main.rs").exists() && p.join("docs/guide.md").exists() && p.join(".git/index").exists(),
            "the project's work was deleted"
        );
    }
}

#[test]
fn rm_rf_of_untracked_build_outputs_runs_and_deletes() {
    if !require_tool("git") {
        return;
    }
    for t in [Test::new(), off(Test::new())] {
        let p = project(&t);
        for line in [
            "rm -rf target node_modules",
            "rm -rf build.log",
            "find . -name '*.log' -delete",
            "mkdir -p out/x && rm -rf out",
            "mkdir -p a/__pycache__ && find . -type d -name __pycache__ -prune -exec rm -rf {} +",
        ] {
            let (code, out) = shell(&t, &p, line);
            assert_eq!(code, Some(0), "{line}: {out}");
        }
        for gone in ["target", "node_modules", "build.log", "out", "a/__pycache__"] {
            assert!(!p.join(gone).exists(), "{gone} is still there");
        }
        assert!(p.join("src/main.rs").exists());
    }
}

#[test]
fn an_index_version_4_with_compressed_paths_is_read() {
    if !require_tool("git") {
        return;
    }
    let t = Test::new();
    let p = project(&t);
    git(&p, &t.home(), &["update-index", "--index-version", "4"]);
    assert_eq!(std::fs::read(p.join(".git/index")).unwrap().get(4..8), Some(&4u32.to_be_bytes()[..]));
    assert_eq!(shell(&t, &p, "rm -rf src/lib").0, Some(75));
    assert_eq!(shell(&t, &p, "rm -rf target").0, Some(0));
    assert!(p.join("src/lib/mod.rs").exists() && !p.join("target").exists());
}

#[test]
fn a_split_index_is_read_through_its_shared_index_and_refused_without_it() {
    if !require_tool("git") {
        return;
    }
    let t = Test::new();
    let p = project(&t);
    git(&p, &t.home(), &["update-index", "--split-index"]);
    let shared: Vec<PathBuf> = std::fs::read_dir(p.join(".git"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|f| f.file_name().unwrap().to_string_lossy().starts_with("sharedindex."))
        .collect();
    assert_eq!(shared.len(), 1, "git wrote no shared index");
    assert_eq!(shell(&t, &p, "rm -rf src").0, Some(75));
    assert_eq!(shell(&t, &p, "rm -rf target").0, Some(0));
    std::fs::remove_file(&shared[0]).unwrap();
    std::fs::create_dir_all(p.join("target")).unwrap();
    let (code, out) = shell(&t, &p, "rm -rf target");
    assert_eq!(code, Some(75), "{out}");
    assert!(p.join("target").exists());
}

#[test]
fn a_worktree_s_gitdir_file_leads_to_its_own_index() {
    if !require_tool("git") {
        return;
    }
    let t = Test::new();
    let p = project(&t);
    let wt = t.dir.path().join("wt");
    git(&p, &t.home(), &["worktree", "add", "-q", wt.to_str().unwrap()]);
    assert!(wt.join(".git").is_file());
    std::fs::create_dir_all(wt.join("target/x")).unwrap();
    assert_eq!(shell(&t, &wt, "rm -rf src").0, Some(75));
    assert_eq!(shell(&t, &wt, "rm -rf target").0, Some(0));
    assert!(wt.join("src/main.rs").exists() && !wt.join("target").exists());
}

#[test]
fn a_submodule_s_gitdir_file_leads_to_its_own_index() {
    if !require_tool("git") {
        return;
    }
    let t = Test::new();
    let p = project(&t);
    let lib = t.dir.path().join("lib");
    std::fs::create_dir_all(lib.join("code")).unwrap();
    std::fs::write(lib.join("code/a.c"), "int a;\n").unwrap();
    git(&lib, &t.home(), &["init", "-q"]);
    git(&lib, &t.home(), &["add", "."]);
    git(&lib, &t.home(), &["commit", "-qm", "lib"]);
    git(&p, &t.home(), &["submodule", "-q", "add", lib.to_str().unwrap(), "vendor/lib"]);
    let sub = p.join("vendor/lib");
    assert!(sub.join(".git").is_file());
    // From the project: the submodule is the project's; from inside it: its tracked code.
    assert_eq!(shell(&t, &p, "rm -rf vendor/lib").0, Some(75));
    assert_eq!(shell(&t, &sub, "rm -rf code").0, Some(75));
    assert!(sub.join("code/a.c").exists());
}

#[test]
fn a_corrupt_index_escalates_naming_it() {
    if !require_tool("git") {
        return;
    }
    for t in [Test::new(), off(Test::new())] {
        let p = project(&t);
        let index = p.join(".git/index");
        let mut bytes = std::fs::read(&index).unwrap();
        bytes.truncate(bytes.len() / 2);
        std::fs::write(&index, bytes).unwrap();
        let (code, out) = shell(&t, &p, "rm -rf target");
        assert_eq!(code, Some(75), "{out}");
        assert!(out.contains("index"), "the refusal does not name the index: {out}");
        assert!(p.join("target").exists());
        let explained = t.guard(&["explain", "shell", "rm -rf target"]).current_dir(&p).output().unwrap();
        assert!(stdout(&explained).contains(".git/index"), "{}", stdout(&explained));
    }
}

#[test]
fn a_removed_index_in_a_repository_with_commits_escalates() {
    if !require_tool("git") {
        return;
    }
    let t = Test::new();
    let p = project(&t);
    std::fs::remove_file(p.join(".git/index")).unwrap();
    assert_eq!(shell(&t, &p, "rm -rf src").0, Some(75));
    assert_eq!(shell(&t, &p, "rm -rf target").0, Some(75));
    assert!(p.join("src/main.rs").exists() && p.join("target").exists());
}

#[test]
fn a_repository_s_fsmonitor_never_runs_while_guard_judges_a_delete() {
    if !require_tool("git") {
        return;
    }
    let t = Test::new();
    let p = project(&t);
    let canary = t.dir.path().join("fsmonitor-ran");
    let hook = t.dir.path().join("fsmonitor.sh");
    std::fs::write(&hook, format!("#!/bin/sh\ntouch {}\n", canary.display())).unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    git(&p, &t.home(), &["config", "core.fsmonitor", hook.to_str().unwrap()]);
    let _ = std::fs::remove_file(&canary);
    assert_eq!(shell(&t, &p, "rm -rf src").0, Some(75));
    let _ = t.guard(&["explain", "shell", "rm -rf target"]).current_dir(&p).output().unwrap();
    assert!(!canary.exists(), "deciding ran the repository's core.fsmonitor");
}

#[test]
fn outside_any_repository_the_project_root_wholesale_escalates_and_a_directory_does_not() {
    let t = Test::new();
    let p = t.work();
    for d in ["src", "build"] {
        std::fs::create_dir_all(p.join(d)).unwrap();
        std::fs::write(p.join(d).join("f"), "x").unwrap();
    }
    for line in ["rm -rf *", "rm -rf ./*", "find . -delete"] {
        assert_eq!(shell(&t, &p, line).0, Some(75), "{line}");
    }
    assert_eq!(shell(&t, &p, "rm -rf build").0, Some(0));
    assert!(p.join("src/f").exists() && !p.join("build").exists());
}

/// Issue 15 item 5, replayed contained (the default): a command hidden in an option or a
/// program's script is judged as the line's own, so it cannot take the project's work where
/// the unknown-code rules stand down; the harmless spelling of each still runs.
#[test]
fn commands_hidden_in_options_and_scripts_cannot_delete_src() {
    if !require_tool("git") {
        return;
    }
    let t = Test::new();
    let p = project(&t);
    std::fs::write(p.join("notes.txt"), "a\n").unwrap();
    for line in [
        "make --ev='all:; rm -rf src'",
        "make -f - <<< 'all:; rm -rf src'",
        "tar -cf x.tar --checkpoint=1 --checkpoint-act=exec='rm -rf src' docs",
        "split --fil='rm -rf src' notes.txt",
        "sed --expr='1e rm -rf src' notes.txt",
        "sed -ne '1e rm -rf src' notes.txt",
        "awk 'BEGIN{system(\"rm -rf src\")}'",
        "awk 'BEGIN{\"rm -rf src\" | getline}'",
        "man -P 'rm -rf src' ls",
        "LESSOPEN='|rm -rf src %s' less notes.txt",
        "vim -c '!rm -rf src' -c q notes.txt",
        "env -S'rm -rf src'",
        "rm -rf \"$PWD/src\"",
        "declare -n r=PWD; r=/tmp; rm -rf \"$PWD/src\"",
        "shopt -s cdable_vars; h=src; cd h && rm -rf *",
    ] {
        let (code, out) = shell(&t, &p, line);
        assert_eq!(code, Some(75), "{line}: {out}");
        assert!(p.join("src/main.rs").exists(), "{line} deleted src");
    }
    for line in ["awk 'BEGIN{system(\"rm -rf target\")}'", "rm -rf \"$PWD/target\"", "sed --expression='s/a/b/' notes.txt"] {
        let (code, out) = shell(&t, &p, line);
        assert_eq!(code, Some(0), "{line}: {out}");
    }
    assert!(!p.join("target").exists());
}

/// `CDPATH` in the agent's environment: `cd target` may land in a directory it lists (here the
/// project's tracked `src/`, through a CDPATH entry holding a `target` link), so what `rm -rf *`
/// deletes there is not known.
#[test]
fn cdpath_in_the_environment_makes_cd_name_unknown() {
    if !require_tool("git") {
        return;
    }
    let t = Test::new();
    let p = project(&t);
    let lure = t.dir.path().join("lure");
    std::fs::create_dir_all(&lure).unwrap();
    std::os::unix::fs::symlink(p.join("src"), lure.join("target")).unwrap();
    let out = t.guard(&["shell", "-c", "cd target && rm -rf *"]).current_dir(&p).env("CDPATH", &lure).output().unwrap();
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(p.join("src/main.rs").exists());
    let out = t.guard(&["shell", "-c", "cd target && rm -rf *"]).current_dir(&p).env_remove("CDPATH").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(p.join("src/main.rs").exists() && !p.join("target/debug").exists());
}

/// Through the agent's hook, the index is read for the session's directory (the payload's
/// `cwd`, not where the hook runs): `rm -rf src` is refused naming the rule, `rm -rf target`
/// is allowed (to run contained).
#[test]
fn a_hook_payload_deleting_src_is_refused_and_one_deleting_target_is_allowed() {
    if !require_tool("git") {
        return;
    }
    let t = Test::new();
    let p = project(&t);
    for (command, want) in [("rm -rf src", "\"deny\""), ("rm -rf target", "\"allow\"")] {
        let payload = serde_json::json!({
            "session_id": "s", "transcript_path": "/x", "cwd": p, "permission_mode": "default",
            "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": "t",
        });
        let mut c = t.guard(&["hook", "claude"]);
        c.current_dir(t.dir.path()).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), payload.to_string().as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let s = stdout(&out);
        assert!(s.contains(want), "{command}: {s}");
        if want == "\"deny\"" {
            assert!(s.contains("shell.project-delete"), "{command}: {s}");
        }
    }
    assert!(p.join("src/main.rs").exists());
}

/// git configuration from the environment (`GIT_CONFIG_COUNT`/`KEY_n`/`VALUE_n`, which is
/// `git -c` by another name): an alias `st` that deletes src is refused, plain git still runs.
#[test]
fn a_git_alias_from_the_environment_cannot_delete_src() {
    if !require_tool("git") {
        return;
    }
    let t = Test::new();
    let p = project(&t);
    let out = t
        .guard(&["shell", "-c", "git st"])
        .current_dir(&p)
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "alias.st")
        .env("GIT_CONFIG_VALUE_0", "!rm -rf src")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(stderr(&out).contains("GIT_CONFIG_COUNT"), "{}", stderr(&out));
    assert!(p.join("src/main.rs").exists());
    let out = t.guard(&["shell", "-c", "git status --short"]).current_dir(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Red team (fixed: every enclosing repository counts, and a `.git` that is no repository is
/// passed over): an empty `.git` directory a contained line plants in a subdirectory (`mkdir
/// src/.git`, no human needed) is a repository without commits and without an index, so from
/// that subdirectory guard reads "nothing is tracked" and lets a delete of the outer project's
/// tracked files run.
#[test]
fn red_an_empty_git_dir_planted_in_a_subdirectory_hides_the_tracked_files_from_a_delete() {
    if !require_tool("git") {
        return;
    }
    let t = Test::new();
    let p = project(&t);
    let (code, out) = shell(&t, &p, "mkdir src/.git");
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = shell(&t, &p.join("src"), "rm -rf lib main.rs");
    assert_eq!(code, Some(75), "a delete of tracked files ran without a human: {out}");
    assert!(p.join("src/main.rs").exists() && p.join("src/lib/mod.rs").exists(), "the project's tracked files are gone");
}

/// The other ways a line plants a repository in a subdirectory (a real nested repository with
/// no commits, a `gitdir:` file pointing nowhere, one deeper down), and an index emptied by an
/// allowed git command: the outer repository's tracked files stay the project's work.
#[test]
fn a_repository_planted_inside_the_project_or_an_emptied_index_hides_no_tracked_file() {
    if !require_tool("git") {
        return;
    }
    for (plant, from, delete) in [
        ("git init -q src", "src", "rm -rf lib main.rs"),
        ("echo 'gitdir: /tmp/nowhere-at-all' > src/.git", "src", "rm -rf lib main.rs"),
        ("mkdir -p src/lib/.git", "src/lib", "cd ../.. && rm -rf src"),
        ("git read-tree --empty", "", "rm -rf src"),
    ] {
        let t = Test::new();
        let p = project(&t);
        let (code, out) = shell(&t, &p, plant);
        assert_eq!(code, Some(0), "{plant}: {out}");
        let (code, out) = shell(&t, &p.join(from), delete);
        assert_eq!(code, Some(75), "{plant}; {delete}: a delete of tracked files ran without a human: {out}");
        assert!(p.join("src/main.rs").exists() && p.join("src/lib/mod.rs").exists(), "{plant}: the project's tracked files are gone");
    }
}

/// Waits up to a minute for `child`, killing it then: `None` when it never ended.
fn wait_bounded(mut child: std::process::Child) -> Option<std::process::Output> {
    for _ in 0..600 {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Red team (fixed: git's files are read non-blocking, regular files only): a contained line
/// (no human) replaces `.git/index` with a FIFO; guard's reader
/// opens it to read and blocks for ever, so every later line whose verdict needs the index
/// hangs instead of escalating with a `guard:` line.
#[test]
fn red_a_fifo_as_the_index_hangs_guard_instead_of_escalating() {
    if !require_tool("git") {
        return;
    }
    let t = Test::new();
    let p = project(&t);
    let (code, out) = shell(&t, &p, "rm .git/index && mkfifo .git/index");
    assert_eq!(code, Some(0), "{out}");
    let child = t
        .guard(&["explain", "shell", "rm -rf src"])
        .current_dir(&p)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(child).expect("guard explain hung on a FIFO as the index");
    assert!(stdout(&out).contains("escalate"), "{}", stdout(&out));
}

/// A version 4 index of `n` entries where each path is the previous one plus one byte (strip
/// 0): `n * 65` bytes of file, `n² / 2` bytes of paths once expanded.
fn growing_v4_index(n: u32) -> Vec<u8> {
    let mut b = b"DIRC".to_vec();
    b.extend_from_slice(&4u32.to_be_bytes());
    b.extend_from_slice(&n.to_be_bytes());
    for i in 0..n {
        b.extend_from_slice(&[0; 24]);
        b.extend_from_slice(&0o100644u32.to_be_bytes());
        b.extend_from_slice(&[0; 32]);
        b.extend_from_slice(&1u16.to_be_bytes());
        b.push(0);
        b.extend_from_slice(if i == 0 { b"src/a" } else { b"a" });
        b.push(0);
    }
    b.extend_from_slice(&[0; 20]);
    b
}

/// Red team (fixed: a path may be at most 4096 bytes): v4's prefix compression lets a 5 MB index (which a contained line may write)
/// expand to 3 GB of paths in guard's parser; under a 2 GB address-space limit guard aborts
/// ("memory allocation failed", SIGABRT) rather than escalating with a `guard:` line, and
/// without one the OOM killer ends it.
#[test]
fn red_a_v4_index_whose_paths_grow_by_a_byte_each_exhausts_guard_s_memory() {
    if !require_tool("git") {
        return;
    }
    let t = Test::new();
    let p = project(&t);
    std::fs::write(p.join(".git/index"), growing_v4_index(80_000)).unwrap();
    let cmd = t.guard(&["explain", "shell", "rm -rf src"]);
    let mut limited = Command::new("bash");
    limited.args(["-c", "ulimit -v 2000000; exec \"$@\"", "bash", crate::support::guard_bin(), "explain", "shell", "rm -rf src"]);
    limited.current_dir(&p);
    crate::support::env_like(&mut limited, &cmd);
    let out = limited.output().unwrap();
    assert!(out.status.code().is_some(), "guard died of a signal: {}", stderr(&out));
    assert!(stdout(&out).contains("escalate"), "{}{}", stdout(&out), stderr(&out));
}
