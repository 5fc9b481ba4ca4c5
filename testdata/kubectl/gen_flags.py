#!/usr/bin/env python3
"""Generates testdata/kubectl/flags.tsv: kubectl's command tree and flag table, from the real binary.

guard classifies kubectl argv with this table so that it parses flags as kubectl (cobra + pflag)
does: which words are commands, which flags take the next argument, which take an optional value
only after `=` (`--cascade`, `--all`, every bool flag), and which flags a command does not have.

Sources, all from the kubectl binary given (default: `kubectl` on PATH):
- `kubectl --help` and `kubectl <cmd> --help`: commands, subcommands, aliases, each command's local
  flags (name, shorthand, type read off the printed default: `=false` bool, `=[]` list, `=''` string,
  a number, a duration);
- `kubectl options`: the global (persistent) flags, valid for every command;
- a probe per non-bool flag, `kubectl <cmd…> --flag --zz-probe-1 --zz-probe-2`: pflag reports
  `unknown flag: --zz-probe-1` only when `--flag` did not take the next word (its value is optional:
  pflag's NoOptDefVal); otherwise the value was consumed and the error names `--zz-probe-2`. Every
  probe ends in a flag error, so kubectl never runs a command or contacts a cluster.

The help text does not show NoOptDefVal, so the probe is the only way to learn it from the binary.
Hidden flags are not listed and so are unknown to guard (escalated: fail closed).

Usage: gen_flags.py [KUBECTL] > testdata/kubectl/flags.tsv
The integration test `kubectl_flag_table_matches_the_real_binary` regenerates and compares.
"""

import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile

FLAG_LINE = re.compile(r"^\s+(?:-(?P<short>[A-Za-z0-9?]), )?--(?P<long>[A-Za-z0-9][A-Za-z0-9_.-]*)=(?P<default>.*):\s*$")
COMMAND_LINE = re.compile(r"^  (?P<name>[a-z][a-z0-9-]*)\s{2,}\S")
SECTION = re.compile(r"^[A-Z][A-Za-z ()]*:\s*$")


def kubectl_env(tmp):
    # No plugins on PATH, no kubeconfig, no cache writes outside the temp dir.
    return {"PATH": tmp, "HOME": tmp, "KUBECONFIG": os.path.join(tmp, "none"), "LANG": "C", "COLUMNS": "400"}


def run(kubectl, args, env):
    p = subprocess.run([kubectl, *args], env=env, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    return p.stdout + p.stderr


def flag_type(default):
    if default in ("false", "true"):
        return "bool"
    if default.startswith("[") and default.endswith("]"):
        return "list"
    if re.fullmatch(r"-?[0-9]+", default):
        return "int"
    if re.fullmatch(r"-?[0-9.]+(ns|us|ms|s|m|h)([0-9.]+(ns|us|ms|s|m|h))*", default):
        return "duration"
    return "string"


def parse_help(text, section=None):
    """(subcommands, aliases, flags) from one `--help` text (`section`: the one it starts in)."""
    subs, aliases, flags = [], [], []
    lines = text.splitlines()
    for line in lines:
        if SECTION.match(line) and not FLAG_LINE.match(line):
            section = line.strip().rstrip(":")
            continue
        if section == "Aliases" and line.strip():
            aliases = [a.strip() for a in line.split(",") if a.strip()]
            section = None
        elif section and (section.endswith("Commands") or "Commands (" in section or section.startswith("Subcommands")):
            m = COMMAND_LINE.match(line)
            if m:
                subs.append(m.group("name"))
        elif section in ("Options", "Flags"):
            m = FLAG_LINE.match(line)
            if m:
                flags.append((m.group("short") or "-", m.group("long"), flag_type(m.group("default").strip("'"))))
    return subs, aliases, flags


def walk(kubectl, env, path, out):
    text = run(kubectl, [*path, "--help"], env)
    subs, aliases, flags = parse_help(text)
    if path:
        out.append((path, aliases, flags))
    for s in subs:
        if s == "help":
            continue
        walk(kubectl, env, [*path, s], out)


def probe(kubectl, env, path, spelling):
    text = run(kubectl, [*path, spelling, "--zz-probe-1", "--zz-probe-2"], env)
    if "unknown flag: --zz-probe-1" in text:
        return "optional"
    if "unknown flag: --zz-probe-2" in text or "invalid argument" in text:
        return "required"
    raise SystemExit(f"gen_flags: cannot tell how `kubectl {' '.join(path)} {spelling}` takes its value:\n{text}")


def main():
    kubectl = shutil.which(sys.argv[1] if len(sys.argv) > 1 else "kubectl")
    if not kubectl:
        raise SystemExit("gen_flags: kubectl not found")
    kubectl = os.path.realpath(kubectl)
    with tempfile.TemporaryDirectory() as tmp:
        env = kubectl_env(tmp)
        version = run(kubectl, ["version", "--client"], env).splitlines()[0].strip()
        commands = []
        walk(kubectl, env, [], commands)
        for extra in (["options"], ["help"]):
            if not any(c[0] == extra for c in commands):
                commands.append((extra, [], parse_help(run(kubectl, [*extra, "--help"], env))[2]))
        _, _, global_flags = parse_help(run(kubectl, ["options"], env).split("\n", 1)[-1], "Options")
        jobs = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            for short, long, typ in global_flags:
                if typ != "bool":
                    jobs[("*", long)] = pool.submit(probe, kubectl, env, ["version"], "--" + long)
            for path, _, flags in commands:
                for short, long, typ in flags:
                    if typ != "bool":
                        jobs[(" ".join(path), long)] = pool.submit(probe, kubectl, env, path, "--" + long)
            values = {k: f.result() for k, f in jobs.items()}
    print(f"# kubectl's commands and flags, generated by testdata/kubectl/gen_flags.py from {version}; do not edit.")
    print("# command: a space-separated path (`*` = global flags, valid for every command)")
    print("# rows: cmd <TAB> path <TAB> aliases (comma-separated or -)")
    print("#       flag <TAB> path <TAB> shorthand or - <TAB> long name <TAB> type <TAB> value: required | optional")
    print("#       (optional: the flag takes a value only after `=`; bool flags are always optional)")
    for short, long, typ in global_flags:
        value = "optional" if typ == "bool" else values[("*", long)]
        print(f"flag\t*\t{short}\t{long}\t{typ}\t{value}")
    for path, aliases, flags in sorted(commands):
        key = " ".join(path)
        print(f"cmd\t{key}\t{','.join(aliases) or '-'}")
        for short, long, typ in flags:
            value = "optional" if typ == "bool" else values[(key, long)]
            print(f"flag\t{key}\t{short}\t{long}\t{typ}\t{value}")


if __name__ == "__main__":
    main()
