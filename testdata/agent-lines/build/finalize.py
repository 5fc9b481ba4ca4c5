# Part of how testdata/agent-lines/lines.tsv was built (see ../README.md). It reads public repositories
# mirrored under /work/.mirror/<owner>+<name>/repo (any bare clone at the recorded commit will do).
import os
BUILD = os.environ.get('AGENT_LINES_BUILD', '/tmp/agent-lines-build')
OUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.makedirs(BUILD, exist_ok=True)
import json, re, shlex, subprocess, sys
sys.dont_write_bytecode = True
rows_exact = {}
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from label import label
rows = json.load(open(BUILD + '/rows.json'))
OVERRIDE = {  # reviewed by hand where the patterns misjudge the line
 'shutdown -c': 'gray', 'halt -w': 'gray', 'reboot -w': 'gray', 'poweroff -w': 'gray',
 'sudo wipefs /dev/sdX': 'gray', 'sudo wipefs -a -n /dev/sdX': 'gray', 'git restore -S :/': 'harmless',
 'docker system prune': 'gray', 'docker system prune --filter "until=hourshminutesm"': 'gray', 'gh repo create': 'gray',
 'killall -l': 'harmless', 'kill -l': 'harmless', 'kill -l|-L|--table': 'harmless',
}
seen = {}; out = []; groups = {}
for g, repo, path, commit, kind, line in rows:
    line = line.replace('\t', ' ').strip()
    if g == 'cc-allowlist' and line.endswith('*') and not line.endswith('\\*'):
        line = line[:-1].rstrip()
    if not line or line in seen: continue
    if g == 'tldr' and line.startswith('*'): continue  # crontab entries, not command lines
    if g == 'cc-allowlist' and kind.endswith('(prefix rules kept as the prefix)') and not rows_exact.get((repo, line)):
        pass
    if g == 'cc-allowlist':
        try:
            words = shlex.split(line)
        except ValueError:
            continue  # a prefix cut inside a quote (`node -e '`) is no command line
        if line.startswith('*'): continue
        prog = [w for w in words if not re.match(r'^\w+=', w) and w != 'env']
        if len(prog) < 2 or prog[-1] in ('python', 'python3', 'node', 'bash', 'sh', 'zsh'): continue  # `PYTHONPATH=x python` is a cut prefix, not a command someone ran
    key = (g, repo, path, commit)
    if key not in groups:
        n = sum(1 for k in groups if k[0] == g) + 1
        groups[key] = (f'{g}-{n:03d}', kind)
    sid = groups[key][0]
    if subprocess.run(['bash', '-n', '-c', line], capture_output=True).returncode != 0:
        continue  # fragments (an allowlist rule for `do echo …`, tldr key notations, cmd.exe lines) are no bash lines
    lab = OVERRIDE.get(line) or label(line)[0]
    seen[line] = 1
    out.append((lab, sid, line))
with open(OUT + '/lines.tsv', 'w') as f:
    f.write('# label\tsource\tline   (labels: harmless | gray | risky | catastrophic; catastrophic lines are risky lines that must be blocked; see README.md)\n')
    for o in out: f.write('\t'.join(o) + '\n')
with open(OUT + '/sources.tsv', 'w') as f:
    f.write('# source\trepository\tpath\tcommit\twhat\n')
    for (g, repo, path, commit), (sid, kind) in groups.items():
        if any(o[1] == sid for o in out):
            f.write(f'{sid}\t{repo}\t{path}\t{commit}\t{kind}\n')
from collections import Counter
print(Counter(o[0] for o in out), len(out))
print(Counter((o[1].rsplit('-',1)[0], o[0]) for o in out))
