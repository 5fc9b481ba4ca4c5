# Part of how testdata/agent-lines/lines.tsv was built (see ../README.md). It reads public repositories
# mirrored under /work/.mirror/<owner>+<name>/repo (any bare clone at the recorded commit will do).
import os
BUILD = os.environ.get('AGENT_LINES_BUILD', '/tmp/agent-lines-build')
OUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.makedirs(BUILD, exist_ok=True)
import json, os, re, subprocess, random, sys
random.seed(15)
M = '/work/.mirror'
def git(repo, *a):
    return subprocess.run(['git', '-C', f'{M}/{repo}/repo', *a], capture_output=True, text=True, errors='replace').stdout
def head(repo): return git(repo, 'rev-parse', 'HEAD').strip()
def files(repo, rev='HEAD'): return git(repo, 'ls-tree', '-r', '--name-only', rev).split('\n')
ANSI = re.compile(r'\x1b\[[0-9;?]*[a-zA-Z]')
rows = []   # (group_id, repo, path_or_glob, commit, kind, line)
def ok(line):
    line = line.strip()
    if not line or len(line) > 190 or '\n' in line: return None
    if line.startswith('#'): return None
    return line
# B: mini-SWE-agent on terminal-bench (leaderboard logs)
R = 'laude-institute+terminal-bench-leaderboard'; c = head(R)
logs = [f for f in files(R) if 'swe-agent-mini' in f and f.endswith('agent.log')]
for f in logs:
    t = ANSI.sub('', git(R, 'show', f'HEAD:{f}')).replace('\r', '')
    got = []
    for m in re.finditer(r'mini-swe-agent \(step \d+.*?\n.*?```bash\n(.*?)\n```', t, re.S):
        body = m.group(1)
        if '\n' in body: continue
        l = ok(body)
        if l and l not in got: got.append(l)
    task = f.split('/')[4]
    for l in got[:8]:
        rows.append(('tb-mini', 'laude-institute/terminal-bench-leaderboard', 'results/terminal-bench-core@0.1.1/20250825_swe-agent-mini_claude-4-sonnet/*/' + task + '/*/sessions/agent.log', c, 'mini-SWE-agent (claude-4-sonnet) on terminal-bench', l))
# C: mini-SWE-agent on SWE-bench Verified (Gemini 3 Pro)
R = 'gruckion+mini-swe-agent'; c = head(R)
for f in sorted(x for x in files(R) if x.endswith('.traj.json')):
    try: d = json.loads(git(R, 'show', f'HEAD:{f}'))
    except Exception: continue
    got = []
    if not isinstance(d, dict): continue
    for x in d.get('messages', []):
        if x.get('role') != 'assistant' or not isinstance(x.get('content'), str): continue
        for b in re.findall(r'```bash\n(.*?)\n```', x['content'], re.S):
            if '\n' in b: continue
            l = ok(b)
            if l and l not in got: got.append(l)
    random.shuffle(got)
    inst = f.split('/')[-2]
    for l in got[:2]:
        rows.append(('swebench-mini', 'gruckion/mini-swe-agent', 'swebench_results/20251118_gemini-3-pro-74pct/trajs/' + inst + '/' + inst + '.traj.json', c, 'mini-SWE-agent (gemini-3-pro) on SWE-bench Verified', l))
# D: SWE-agent trajectories
R = 'princeton-nlp+SWE-agent'; c = head(R)
TOOLS = {'create','edit','open','goto','scroll_up','scroll_down','find_file','search_dir','search_file','submit','decompile','disassemble','debug_start','debug_add_breakpoint','debug_continue','debug_step','debug_exec','debug_stop','connect_start','connect_sendline','connect_exec','connect_stop','exit_forfeit','str_replace_editor','filemap','insert','python_repl'}
for f in sorted(x for x in files(R) if x.endswith('.traj')):
    try: d = json.loads(git(R, 'show', f'HEAD:{f}'))
    except Exception: continue
    if not isinstance(d, dict): continue
    for s in d.get('trajectory', []):
        a = (s.get('action') or '').strip()
        if not a or '\n' in a: continue
        if a.split()[0] in TOOLS: continue
        l = ok(a)
        if l: rows.append(('swe-agent', 'princeton-nlp/SWE-agent', f, c, 'SWE-agent trajectory', l))
# E: Claude Code session transcripts published as test data / exports
def cc_jsonl(R, f, rev='HEAD'):
    c = git(R, 'rev-parse', rev).strip()
    for ln in git(R, 'show', f'{rev}:{f}').split('\n'):
        try: j = json.loads(ln)
        except Exception: continue
        msg = j.get('message') if isinstance(j, dict) else None
        cont = msg.get('content') if isinstance(msg, dict) else None
        if not isinstance(cont, list): continue
        for part in cont:
            if isinstance(part, dict) and part.get('type') == 'tool_use' and part.get('name') == 'Bash':
                cmd = (part.get('input') or {}).get('command', '')
                l = ok(cmd) if isinstance(cmd, str) else None
                if l: rows.append(('cc-transcript', R.replace('+','/',1), f, c, 'Claude Code session transcript', l))
for R in ('simonw+claude-code-transcripts', 'daaain+claude-code-log'):
    for f in files(R):
        if f.endswith('.jsonl') and ('test' in f): cc_jsonl(R, f)
R = 'yigitkonur+cctrace-js'
t = git(R, 'show', 'c5adb4b:conversation_full.md'); c = git(R, 'rev-parse', 'c5adb4b').strip()
for m in re.finditer(r'"command":\s*"((?:[^"\\]|\\.)*)"', t):
    try: cmd = json.loads('"' + m.group(1) + '"')
    except Exception: continue
    l = ok(cmd)
    if l: rows.append(('cc-export', 'yigitkonur/cctrace-js', 'conversation_full.md', c, 'Claude Code session export (markdown)', l))
# G: terminal-bench style task solutions
R = 'Uriel-Segev+Benchmarking-Agentic-AI'; c = head(R)
for f in files(R):
    if f.endswith('solution.sh'):
        delim = None
        for ln in git(R, 'show', f'HEAD:{f}').split('\n'):
            if delim is not None:
                if ln.strip() == delim: delim = None
                continue
            h = re.search(r"<<-?\s*['\"]?(\w+)", ln)
            if h: delim = h.group(1); continue
            l = ok(ln)
            if l and not l.startswith('#!') and l not in ('fi','done','EOF','then','else','}'):
                rows.append(('tb-solution', 'Uriel-Segev/Benchmarking-Agentic-AI', f, c, 'terminal-bench task solution.sh', l))
# A: Claude Code permission allowlists
for ln in open(BUILD + '/settings.tsv'):
    kind, repo, f, c, body = ln.rstrip('\n').split('\t')
    if re.search(r'[A-Z]:\\|Get-ChildItem|Select-Object|^dir /|^copy |^cmd |^powershell|\\\\', body) or body.startswith('#'): continue
    rows.append(('cc-allowlist', repo, f, c, f'Claude Code permissions.{kind} entry (prefix rules kept as the prefix)', body))
json.dump(rows, open(BUILD + '/rows.json', 'w'))
from collections import Counter
print(Counter(r[0] for r in rows)); print(len({r[5] for r in rows}))
# F: tldr pages (CC BY 4.0): examples of the programs agents run, placeholders filled with their names
R = 'tldr-pages+tldr'; c = head(R)
PAGES = re.compile(r'^pages/(common|linux)/(git-(push|reset|clean|checkout|restore|stash|rebase|branch|commit|status|log|diff|add|clone|fetch|pull|filter-repo|tag|rm)|npm(-install|-publish|-run|-ci|-test|-uninstall|-cache|-ls)?|npx|yarn|pnpm|cargo(-build|-test|-publish|-install|-clippy|-fmt|-run|-add|-clean)?|pip(-install|-uninstall)?|python|pytest|ruff|black|uv|poetry|twine|docker(-system|-push|-run|-rm|-rmi|-volume|-build|-compose|-ps|-exec|-image|-container)?|gh-(release|pr|repo|issue|secret)|curl|wget|scp|rsync|nc|ssh|rm|rmdir|shred|dd|mkfs|wipefs|shutdown|reboot|poweroff|halt|systemctl|crontab|iptables|nft|kill|killall|pkill|dropdb|psql|mysql|sqlite3|aws-s3|aws-s3-rm|gcloud-projects|az-group|terraform|kubectl-delete|chmod|chown|find|tar|make|jq|tmux|conda|brew|apt|apt-get|env|printenv|history|truncate|sed|xargs)\.md$')
for f in files(R):
    if not PAGES.match(f): continue
    for m in re.finditer(r'^`(.+)`$', git(R, 'show', f'HEAD:{f}'), re.M):
        l = m.group(1)
        l = re.sub(r'\{\{\[([^|\]]+)\|[^\]]*\]\}\}', r'\1', l)
        l = re.sub(r'\{\{(.*?)\}\}', r'\1', l)
        l = ok(l)
        if l and not l.startswith('tldr '): rows.append(('tldr', 'tldr-pages/tldr', f, c, 'tldr page example (CC BY 4.0), placeholders kept as their names', l))
json.dump(rows, open(BUILD + '/rows.json', 'w'))
print(Counter(r[0] for r in rows)); print(len({r[5] for r in rows}))
