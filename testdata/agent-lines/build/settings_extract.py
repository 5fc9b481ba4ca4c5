# Part of how testdata/agent-lines/lines.tsv was built (see ../README.md). It reads public repositories
# mirrored under /work/.mirror/<owner>+<name>/repo (any bare clone at the recorded commit will do).
import os
BUILD = os.environ.get('AGENT_LINES_BUILD', '/tmp/agent-lines-build')
OUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.makedirs(BUILD, exist_ok=True)
import json, os, re, subprocess, sys
# For each mirrored repo: read .claude/settings*.json at HEAD, pull Bash(...) allow entries.
out = []
for d in sorted(os.listdir('/work/.mirror')):
    g = f'/work/.mirror/{d}/repo'
    repo = d.replace('+', '/', 1)
    try:
        commit = subprocess.run(['git','-C',g,'rev-parse','HEAD'],capture_output=True,text=True).stdout.strip()
        files = subprocess.run(['git','-C',g,'ls-tree','-r','--name-only','HEAD'],capture_output=True,text=True).stdout.split('\n')
    except Exception:
        continue
    for f in files:
        if not re.search(r'(^|/)\.claude/settings(\.local)?\.json$', f):
            continue
        txt = subprocess.run(['git','-C',g,'show',f'HEAD:{f}'],capture_output=True,text=True).stdout
        try:
            j = json.loads(txt)
        except Exception:
            continue
        perms = j.get('permissions', {}) if isinstance(j, dict) else {}
        for kind in ('allow', 'ask', 'deny'):
            for e in perms.get(kind, []) or []:
                if not isinstance(e, str): continue
                m = re.fullmatch(r'Bash\((.*)\)', e, re.S)
                if not m: continue
                body = m.group(1).strip()
                exact = True
                if body.endswith(':*'):
                    body = body[:-2].strip(); exact = False
                elif body.endswith(' *') or body == '*':
                    body = body[:-1].strip(); exact = False
                # Claude Code escapes parens in permission rules: \( \)
                body = body.replace('\\(', '(').replace('\\)', ')')
                if not body or '\n' in body or len(body) > 200: continue
                if not exact and len(body.split()) < 2: continue  # bare program prefix is no command line
                if '*' in body and not exact: continue
                out.append((kind, repo, f, commit, body))
for o in out:
    print('\t'.join(o))
