//! Programs that change the machine or what runs on it beyond the project: signals (`kill`,
//! `pkill`), power and init, scheduled jobs, mounts and storage, users and groups, the
//! firewall and network configuration, the host name and clock, services, containers, and
//! the cloud and hosting CLIs (`aws`, `gcloud`, `gh`, `helm`, …: only their reads pass).

use super::super::words::Arg;
use super::super::{Stdin, Walker};
use super::{Judge, known_or_unknown, operands, reads};
use crate::decision::Decision;

#[rustfmt::skip]
pub(super) const JUDGES: &[(&str, Judge)] = &[
    ("kill", kill),
    ("pkill", kill_by_name), ("killall", kill_by_name), ("killall5", kill_by_name), ("skill", kill_by_name), ("slay", kill_by_name),
    ("shutdown", power), ("reboot", power), ("halt", power), ("poweroff", power), ("init", power), ("telinit", power),
    ("crontab", scheduled), ("at", scheduled), ("batch", scheduled),
    ("mount", storage), ("umount", storage), ("swapon", storage), ("swapoff", storage), ("losetup", storage),
    ("cryptsetup", storage), ("lvremove", storage), ("vgremove", storage), ("pvremove", storage), ("mdadm", storage),
    ("zpool", storage), ("zfs", storage), ("lvcreate", storage), ("lvextend", storage), ("resize2fs", storage),
    ("useradd", users), ("userdel", users), ("usermod", users), ("groupadd", users), ("groupdel", users), ("groupmod", users),
    ("passwd", users), ("chpasswd", users), ("adduser", users), ("deluser", users), ("addgroup", users), ("delgroup", users),
    ("visudo", users), ("vipw", users), ("vigr", users), ("gpasswd", users), ("newusers", users), ("chage", users), ("chsh", users),
    ("iptables", firewall), ("ip6tables", firewall), ("iptables-restore", firewall), ("ip6tables-restore", firewall),
    ("nft", firewall), ("ufw", firewall), ("firewall-cmd", firewall), ("ebtables", firewall), ("pfctl", firewall),
    ("ip", network), ("ifconfig", network), ("route", network),
    ("hostname", hostname), ("date", date),
    ("systemctl", services), ("service", services), ("journalctl", services), ("launchctl", services),
    ("docker", container), ("podman", container), ("nerdctl", container),
    ("aws", cloud), ("gcloud", cloud), ("az", cloud), ("doctl", cloud), ("gsutil", cloud), ("oci", cloud), ("ibmcloud", cloud),
    ("linode-cli", cloud), ("hcloud", cloud), ("heroku", cloud), ("fly", cloud), ("flyctl", cloud), ("vercel", cloud),
    ("netlify", cloud), ("gh", cloud), ("glab", cloud), ("helm", cloud),
];

fn kill(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, _: usize) {
    // `%N` and `$!` name the line's own jobs; a contained line sees only its own
    // processes anyway (its pid namespace), so there `shell.kill` stands down.
    let own_job = |a: &Arg| a.text().starts_with('%') || matches!(a.text(), "$!" | "${!}");
    let targets: Vec<&Arg> = rest.iter().filter(|a| !a.text().starts_with('-')).collect();
    let listing = rest.iter().any(|a| matches!(a.text(), "-l" | "-L" | "-0" | "--list"));
    let own_jobs_only = !targets.is_empty() && targets.iter().all(|a| own_job(a));
    if !listing && !own_jobs_only {
        w.flag(Decision::Escalate, "shell.kill", "kill signals processes guard cannot prove are yours");
    }
}

fn kill_by_name(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, _: usize) {
    if !rest.iter().any(|a| matches!(a.text(), "-l" | "--list")) {
        w.flag(Decision::Escalate, "shell.kill", format!("{program} signals processes by name, possibly other users'"))
    }
}

fn power(w: &mut Walker, program: &str, _: &[Arg], _: &Stdin, _: usize) {
    w.flag(Decision::Escalate, "shell.power", format!("{program} stops or restarts the machine"))
}

fn scheduled(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, _: usize) {
    let listing = program == "crontab" && rest.iter().all(|a| matches!(a.text(), "-l" | "-u")) && !rest.is_empty();
    if !listing {
        w.flag(Decision::Escalate, "shell.persistence", format!("{program} schedules or removes jobs that run later"));
    }
}

fn storage(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, _: usize) {
    if !(program == "mount" && rest.is_empty()) {
        w.flag(Decision::Escalate, "shell.mount", format!("{program} changes mounts or storage"));
    }
}

fn users(w: &mut Walker, program: &str, _: &[Arg], _: &Stdin, _: usize) {
    w.flag(Decision::Escalate, "shell.user-admin", format!("{program} changes users or groups"));
}

fn firewall(w: &mut Walker, program: &str, _: &[Arg], _: &Stdin, _: usize) {
    w.flag(Decision::Escalate, "shell.firewall", format!("{program} changes the firewall"));
}

fn network(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, _: usize) {
    const CHANGES: &[&str] = &["add", "del", "delete", "set", "flush", "change", "replace", "up", "down", "append", "prepend", "link"];
    let changes = rest.iter().any(|a| CHANGES.contains(&a.text())) && !rest.iter().any(|a| a.text() == "show" || a.text() == "list");
    if changes || (program == "ifconfig" && rest.len() > 1) {
        w.flag(Decision::Escalate, "shell.firewall", format!("{program} changes network configuration"));
    }
}

fn hostname(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, _: usize) {
    if rest.iter().any(|a| !a.text().starts_with('-')) {
        w.flag(Decision::Escalate, "shell.write-system", "hostname NAME renames the machine")
    } else {
        known_or_unknown(w, program);
    }
}

fn date(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, _: usize) {
    if rest.iter().any(|a| a.text() == "-s" || a.text().starts_with("--set")) {
        w.flag(Decision::Escalate, "shell.write-system", "date -s sets the clock")
    } else {
        known_or_unknown(w, program);
    }
}

fn container(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, _: usize) {
    let (_, ops) = operands(rest);
    let sub = ops.first().map(|a| a.text()).unwrap_or_default();
    let sub2 = ops.get(1).map(|a| a.text()).unwrap_or_default();
    let read = reads(w, program, sub)
        && !(sub == "image" && matches!(sub2, "rm" | "prune"))
        && !(sub == "context" && matches!(sub2, "rm" | "use" | "create"))
        || (sub == "compose" && matches!(sub2, "ps" | "logs" | "config" | "ls" | "images" | "version" | "build" | "pull"))
        || (matches!(sub, "container" | "volume" | "network" | "system") && matches!(sub2, "ls" | "list" | "inspect" | "df" | "info"));
    if !read {
        w.flag(Decision::Escalate, "shell.container", format!("{program} {sub} runs, changes or removes containers, images or volumes"));
    }
}

fn services(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, _: usize) {
    let ops: Vec<&str> = rest.iter().map(Arg::text).filter(|t| !t.starts_with('-') || reads(w, program, t)).collect();
    let read = match program {
        "journalctl" => !rest.iter().any(|a| a.text().starts_with("--vacuum") || a.text() == "--rotate" || a.text() == "--flush"),
        "service" => ops.get(1).is_some_and(|v| reads(w, program, v)) || ops.first().is_some_and(|v| reads(w, program, v)),
        _ => ops.first().is_none_or(|v| reads(w, program, v)),
    };
    if !read {
        w.flag(Decision::Escalate, "shell.service", format!("{program} starts, stops or changes services"));
    }
}

fn cloud(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, _: usize) {
    let words: Vec<&str> = rest.iter().map(Arg::text).filter(|t| !t.starts_with('-')).collect();
    // `aws --version`, `gcloud --help`: the CLI says what it is and calls nothing.
    if words.is_empty() && rest.iter().any(|a| matches!(a.text(), "--version" | "-v" | "--help" | "-h" | "version")) {
        return;
    }
    // The policy's read verbs for this CLI (`[[shell.reads]]`): `describe` also matches
    // `describe-instances`.
    let verbs = w.policy.shell.reads(program);
    let read_verb = |v: &str| verbs.iter().any(|r| v == r || v.strip_prefix(r.as_str()).is_some_and(|t| t.starts_with('-')));
    let read = match program {
        // aws SERVICE OPERATION: operation describe-*/list-*/get-*; `aws s3 ls`.
        "aws" => {
            words.get(1).is_some_and(|op| read_verb(op) || *op == "ls")
                || words.first().is_some_and(|s| matches!(*s, "help" | "sts"))
                    && words.get(1).is_none_or(|op| read_verb(op) || *op == "get-caller-identity")
        }
        "gh" | "glab" => {
            words.get(1).is_some_and(|v| read_verb(v))
                || words.first().is_some_and(|s| matches!(*s, "status" | "auth" | "help" | "version" | "search" | "browse"))
                    && !words.contains(&"logout")
        }
        "helm" => {
            words.first().is_some_and(|v| {
                read_verb(v) || matches!(*v, "template" | "lint" | "dependency" | "repo" | "search" | "show" | "env" | "plugin")
            }) && !words.contains(&"add")
                && !words.contains(&"update")
                || words.first() == Some(&"repo") && words.get(1).is_some_and(|v| matches!(*v, "list" | "update" | "add"))
        }
        _ => {
            words.iter().any(|v| read_verb(v))
                && !words.iter().any(|v| {
                    matches!(
                        *v,
                        "create"
                            | "delete"
                            | "update"
                            | "set"
                            | "deploy"
                            | "remove"
                            | "rm"
                            | "destroy"
                            | "apply"
                            | "start"
                            | "stop"
                            | "restart"
                            | "reset"
                    )
                })
        }
    };
    if !read {
        w.flag(
            Decision::Escalate,
            "shell.cloud",
            format!("{program} {} may change cloud resources", words.iter().take(3).copied().collect::<Vec<_>>().join(" ")),
        );
    }
}
