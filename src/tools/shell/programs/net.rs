//! Programs that talk to other hosts: `ssh` (whose remote command is a shell line), `scp`,
//! `sftp`, `nc` and friends, `rsync` (remote ends, `--delete`, its destination), and
//! `curl`/`wget` (methods and uploads that send data out, output files).

use super::super::words::Arg;
use super::super::{Stdin, Walker};
use super::{Judge, check_write, operands, shell_string};
use crate::decision::Decision;

#[rustfmt::skip]
pub(super) const JUDGES: &[(&str, Judge)] = &[
    ("ssh", ssh),
    ("scp", remote), ("sftp", remote), ("ftp", remote), ("telnet", remote), ("nc", remote), ("ncat", remote),
    ("netcat", remote), ("socat", remote),
    ("rsync", rsync),
    ("curl", http), ("wget", http),
];

fn ssh(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, depth: usize) {
    w.flag(Decision::Escalate, "shell.remote", "ssh runs commands on another host");
    let ops = ssh_remote_command(rest);
    if !ops.is_empty() {
        shell_string(w, &ops, "ssh", depth);
    }
}

fn remote(w: &mut Walker, program: &str, _: &[Arg], _: &Stdin, _: usize) {
    w.flag(Decision::Escalate, "shell.remote", format!("{program} talks to another host"))
}

fn rsync(w: &mut Walker, _: &str, rest: &[Arg], _: &Stdin, _: usize) {
    if rest.iter().any(|a| a.text().contains(':') && !a.text().starts_with('-')) {
        w.flag(Decision::Escalate, "shell.remote", "rsync copies to or from another host");
    }
    if rest.iter().any(|a| a.text().starts_with("--delete") || a.text() == "--remove-source-files") {
        w.flag(Decision::Escalate, "shell.write-outside", "rsync --delete removes files at the destination");
    }
    let (_, ops) = operands(rest);
    if let Some(dest) = ops.last().filter(|_| ops.len() > 1)
        && !dest.text().contains(':')
    {
        check_write(w, dest, "rsync");
    }
}

fn ssh_remote_command(rest: &[Arg]) -> Vec<Arg> {
    let with_value =
        ["-b", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J", "-L", "-l", "-m", "-O", "-o", "-p", "-Q", "-R", "-S", "-W", "-w", "-B"];
    let mut i = 0;
    while let Some(a) = rest.get(i) {
        let t = a.text();
        if !t.starts_with('-') {
            break;
        }
        i += if with_value.contains(&t) { 2 } else { 1 };
    }
    rest.get(i + 1..).unwrap_or_default().to_vec()
}

/// `curl`, `wget`: a method other than GET/HEAD/OPTIONS, an upload, or an output file.
fn http(w: &mut Walker, program: &str, rest: &[Arg], _: &Stdin, _: usize) {
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let t = a.text();
        // curl and wget take any unambiguous prefix of a long option (`--up`, `--req`,
        // `--post-f`), and curl clusters short ones (`-sSd @f`, `-sX POST`, `-fsSLo out`).
        let long = |full: &str| {
            let name = t.split_once('=').map_or(t, |(n, _)| n);
            name.len() > 3 && super::long_option(name, full)
        };
        if program == "curl" && t.starts_with('-') && !t.starts_with("--") && t.len() > 2 {
            let body = t.get(1..).unwrap_or_default();
            for (k, ch) in body.char_indices() {
                let tail = body.get(k + 1..).unwrap_or_default();
                match ch {
                    'd' | 'F' | 'T' => {
                        w.flag(Decision::Escalate, "shell.http-write", format!("{program} uploads data ({t})"));
                        break;
                    }
                    'X' => {
                        let m = if tail.is_empty() { it.next().map(|m| m.text().to_string()) } else { Some(tail.to_string()) };
                        if let Some(m) = m.map(|m| m.to_ascii_uppercase()).filter(|m| !matches!(m.as_str(), "GET" | "HEAD" | "OPTIONS")) {
                            w.flag(Decision::Escalate, "shell.http-write", format!("{program} sends an HTTP {m} request"));
                        }
                        break;
                    }
                    'o' => {
                        let o = if tail.is_empty() { it.next().cloned() } else { Some(Arg::Lit(tail.to_string())) };
                        if let Some(o) = o.filter(|o| o.text() != "-") {
                            check_write(w, &o, program);
                        }
                        break;
                    }
                    'K' => {
                        w.flag(Decision::Escalate, "shell.http-write", "curl -K reads options guard cannot see");
                        break;
                    }
                    // Options that take a value end the cluster: the rest is the value.
                    c if "AbcCDeEHmPQruUwxyYzth".contains(c) => break,
                    _ => {}
                }
            }
            continue;
        }
        let abbreviated = if program == "curl" {
            [
                "--data",
                "--data-binary",
                "--data-raw",
                "--data-ascii",
                "--data-urlencode",
                "--form",
                "--form-string",
                "--upload-file",
                "--json",
            ]
            .iter()
            .any(|f| long(f))
        } else {
            ["--post-data", "--post-file", "--body-data", "--body-file"].iter().any(|f| long(f))
        };
        if abbreviated {
            w.flag(Decision::Escalate, "shell.http-write", format!("{program} uploads data ({t})"));
            continue;
        }
        if let Some(m) = (long("--request") || long("--method"))
            .then(|| t.split_once('=').map(|(_, m)| m.to_string()).or_else(|| it.next().map(|m| m.text().to_string())))
            .flatten()
            .map(|m| m.to_ascii_uppercase())
        {
            if !matches!(m.as_str(), "GET" | "HEAD" | "OPTIONS") {
                w.flag(Decision::Escalate, "shell.http-write", format!("{program} sends an HTTP {m} request"));
            }
            continue;
        }
        let method = if program == "curl" && (t == "-X" || t == "--request") {
            it.next().map(|m| m.text().to_ascii_uppercase())
        } else if let Some(m) = t
            .strip_prefix("--request=")
            .or_else(|| t.strip_prefix("--method="))
            .or_else(|| if program == "curl" { t.strip_prefix("-X").filter(|m| !m.is_empty()) } else { None })
        {
            Some(m.to_ascii_uppercase())
        } else if program == "wget" && t == "--method" {
            it.next().map(|m| m.text().to_ascii_uppercase())
        } else {
            None
        };
        if let Some(m) = method {
            if m != "GET" && m != "HEAD" && m != "OPTIONS" {
                w.flag(Decision::Escalate, "shell.http-write", format!("{program} sends an HTTP {m} request"));
            }
            continue;
        }
        let uploads = if program == "curl" {
            t.starts_with("-d")
                || t.starts_with("--data")
                || t.starts_with("-F")
                || t.starts_with("--form")
                || t == "-T"
                || t.starts_with("--upload-file")
                || t.starts_with("--json")
                || t.starts_with("-T")
        } else {
            t.starts_with("--post-data") || t.starts_with("--post-file") || t.starts_with("--body-data") || t.starts_with("--body-file")
        };
        if uploads {
            w.flag(Decision::Escalate, "shell.http-write", format!("{program} uploads data ({t})"));
            continue;
        }
        let out = match (program, t) {
            ("curl", "-o" | "--output")
            | ("wget", "-O" | "--output-document" | "-P" | "--directory-prefix" | "-o" | "--output-file" | "-a") => it.next(),
            _ => None,
        };
        if let Some(o) = out.filter(|o| o.text() != "-") {
            check_write(w, o, program);
        }
        if program == "curl" && (t == "-K" || t == "--config") {
            w.flag(Decision::Escalate, "shell.http-write", "curl -K reads options guard cannot see");
        }
    }
}
