//! What git tracks in the project's work tree: guard's own reader of `.git/index` (versions 2, 3
//! and 4), so the shell classifier can tell `rm -rf src` (the project's work) from `rm -rf target`
//! (a build output) without running git.
//!
//! Owns finding the work tree above a directory (`.git` as a directory, or a `gitdir:` file for
//! worktrees and submodules), parsing the index (v4's prefix-compressed paths; the split index's
//! `link` extension resolved through its shared index, or refused), and the questions the
//! classifier asks of it (does a directory hold tracked files, does a glob reach one). It must
//! never run git: a repository's `.git/config` (`core.fsmonitor`, hooks, aliases) runs commands,
//! and the agent can write it. It reads no environment: `GIT_DIR` and `GIT_INDEX_FILE` are the
//! agent's to set, and would point guard at an empty index. Anything it cannot read or parse is
//! an error value (`GitFacts::Unreadable`), which the classifier turns into an escalation.
//! Parsing is pure (bytes in); only [`read`] touches the file system.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Most entries guard accepts in one index (git's own limit is far above any real project's).
const MAX_ENTRIES: u32 = 10_000_000;
/// Largest index file guard reads.
const MAX_INDEX_BYTES: u64 = 1 << 30;
/// The longest path an entry may have (Linux's `PATH_MAX`: no longer one can be checked out).
const MAX_PATH: usize = 4096;

/// What the edge learned about git in the project, for the classifier.
#[derive(Clone, Debug, Default)]
pub enum GitFacts {
    /// Not gathered: the edge reads the index only for a line whose verdict needs it (see
    /// `crate::judge`); a classification without it escalates what it would have to look up.
    #[default]
    NotRead,
    /// No git work tree holds the project.
    NoRepo,
    /// The project is in the work tree at `root`, whose index guard could not read or parse.
    Unreadable { root: PathBuf, why: String },
    /// The work tree at `root` and what its index tracks.
    Tracked { root: PathBuf, index: Arc<Index> },
}

impl GitFacts {
    /// The work tree's root, when there is one (read or not).
    pub fn root(&self) -> Option<&Path> {
        match self {
            GitFacts::Tracked { root, .. } | GitFacts::Unreadable { root, .. } => Some(root),
            GitFacts::NotRead | GitFacts::NoRepo => None,
        }
    }
}

/// What an entry of the index is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    /// A submodule (mode 160000): a directory of another repository's work.
    Gitlink,
    /// A sparse index's directory entry (its files are not listed one by one).
    SparseDir,
    /// git's own directory, `.git`: the history (not an index entry; added by [`Index::new`]).
    GitDir,
}

/// The paths an index tracks, relative to the work tree, sorted bytewise.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Index {
    entries: Vec<(Vec<u8>, Kind)>,
}

impl Index {
    /// An index of `entries` (any order), with `.git` itself counted as the project's.
    pub fn new(mut entries: Vec<(Vec<u8>, Kind)>) -> Index {
        entries.push((b".git".to_vec(), Kind::GitDir));
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|a, b| a.0 == b.0);
        Index { entries }
    }

    /// The fixed index of the example project (`Context::example`).
    pub fn example() -> Index {
        let files = [".github/workflows/ci.yml", "Cargo.toml", "README.md", "docs/guide.md", "src/lib.rs", "src/main.rs", "tests/cli.rs"];
        let mut entries: Vec<(Vec<u8>, Kind)> = files.iter().map(|f| (f.as_bytes().to_vec(), Kind::File)).collect();
        entries.push((b"vendor/lib".to_vec(), Kind::Gitlink));
        Index::new(entries)
    }

    /// Entries under the directory `dir` (relative; empty for the work tree root).
    fn under<'a>(&'a self, dir: &[u8]) -> impl Iterator<Item = &'a (Vec<u8>, Kind)> + 'a {
        let prefix: Vec<u8> = if dir.is_empty() { Vec::new() } else { [dir, b"/"].concat() };
        let start = self.entries.partition_point(|(p, _)| p.as_slice() < prefix.as_slice());
        self.entries.get(start..).unwrap_or_default().iter().take_while(move |(p, _)| p.starts_with(&prefix))
    }

    /// A tracked path that deleting `rel` (recursively) would remove, when `rel` is a directory
    /// holding tracked files, a submodule, inside a sparse directory, or `.git`: `None` for an
    /// untracked path and for a tracked file itself (deleting one file is not the project's work
    /// wholesale).
    pub fn held_by(&self, rel: &[u8]) -> Option<String> {
        if let Some((p, _)) = self.under(rel).next() {
            return Some(show(p));
        }
        let mut at = rel;
        loop {
            let i = self.entries.partition_point(|(p, _)| p.as_slice() < at);
            if let Some((p, k)) = self.entries.get(i)
                && p.as_slice() == at
                && *k != Kind::File
            {
                return Some(show(p));
            }
            match at.iter().rposition(|&b| b == b'/') {
                Some(cut) => at = at.get(..cut).unwrap_or_default(),
                None => return None,
            }
        }
    }

    /// A tracked path that a recursive delete of what `pattern` names would remove: the entries
    /// below `dir` whose components from there on start with ones matching `pattern`'s
    /// (`src*`, `*/cache`), or — with `names` — any entry below `dir` with a component matching
    /// every name pattern (`find DIR -name P -delete`). Glob patterns are matched generously:
    /// a leading dot is matched by `*` (`shopt -s dotglob` may be on).
    pub fn reached(&self, dir: &[u8], pattern: &[&[u8]], names: &[NamePattern]) -> Option<String> {
        let skip = if dir.is_empty() { 0 } else { dir.split(|&b| b == b'/').count() };
        for (p, _) in self.under(dir) {
            let comps: Vec<&[u8]> = p.split(|&b| b == b'/').skip(skip).collect();
            let by_pattern =
                pattern.is_empty() || (comps.len() >= pattern.len() && pattern.iter().zip(&comps).all(|(pat, c)| glob_match(pat, c)));
            let by_names = names.is_empty() || comps.iter().any(|c| names.iter().all(|n| n.matches(c)));
            if by_pattern && by_names {
                return Some(show(p));
            }
        }
        None
    }
}

/// A `find -name P` (or `-iname P`) test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamePattern {
    pub pattern: String,
    pub ignore_case: bool,
}

impl NamePattern {
    fn matches(&self, name: &[u8]) -> bool {
        if self.ignore_case {
            glob_match(&self.pattern.to_ascii_lowercase().into_bytes(), &name.to_ascii_lowercase())
        } else {
            glob_match(self.pattern.as_bytes(), name)
        }
    }
}

fn show(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}

/// Shell pattern matching of one path component: `*`, `?`, `[…]` (with `!`/`^` and ranges),
/// backslash escapes. Iterative (a `*` backtracks to its last position only).
pub fn glob_match(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        match pat.get(p) {
            Some(b'*') => {
                star = Some((p + 1, i));
                p += 1;
                continue;
            }
            Some(&c) => {
                if let Some(&ch) = s.get(i) {
                    let step = match c {
                        b'?' => Some(1),
                        b'[' => match bracket(pat, p, ch) {
                            Some((hit, end)) => hit.then_some(end - p),
                            // An unclosed `[` is a literal.
                            None => (ch == b'[').then_some(1),
                        },
                        b'\\' if pat.get(p + 1).is_some() => (pat.get(p + 1) == Some(&ch)).then_some(2),
                        _ => (c == ch).then_some(1),
                    };
                    if let Some(n) = step {
                        p += n;
                        i += 1;
                        continue;
                    }
                }
            }
            None if i == s.len() => return true,
            None => {}
        }
        match star {
            Some((sp, si)) if si < s.len() => {
                star = Some((sp, si + 1));
                p = sp;
                i = si + 1;
            }
            _ => return false,
        }
    }
}

/// A bracket expression at `pat[p] == '['`: whether `c` matches it and where it ends; `None`
/// when it is not closed.
fn bracket(pat: &[u8], p: usize, c: u8) -> Option<(bool, usize)> {
    let mut j = p + 1;
    let negate = matches!(pat.get(j), Some(b'!' | b'^'));
    if negate {
        j += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let &b = pat.get(j)?;
        if b == b']' && !first {
            return Some((hit != negate, j + 1));
        }
        first = false;
        match (pat.get(j + 1), pat.get(j + 2)) {
            (Some(b'-'), Some(&hi)) if hi != b']' => {
                hit |= (b..=hi).contains(&c);
                j += 3;
            }
            _ => {
                hit |= b == c;
                j += 1;
            }
        }
    }
}

/// Finds the git work trees holding `dir` and reads what their indexes track (edge I/O). Every
/// enclosing repository counts, not only the nearest: a `.git` a line plants in a subdirectory
/// (`mkdir src/.git`, `git init src`) must not make the outer repository's tracked files there
/// look untracked. A `.git` directory that is no repository (no `HEAD`, `objects`, `refs`) is
/// passed over, as git passes it over. The facts are rooted at the outermost work tree, its
/// index holding every repository's entries (inner ones under their directory).
pub fn read(dir: &Path) -> GitFacts {
    let repos: Vec<(PathBuf, PathBuf)> = dir
        .ancestors()
        .filter_map(|d| {
            let g = d.join(".git");
            let meta = std::fs::symlink_metadata(&g).ok()?;
            (!meta.is_dir() || is_git_dir(&g)).then(|| (d.to_path_buf(), g))
        })
        .collect();
    let Some((root, _)) = repos.last().cloned() else { return GitFacts::NoRepo };
    let mut entries = Vec::new();
    for (work_tree, dot_git) in &repos {
        let read = git_dir(work_tree, dot_git).and_then(|g| read_index(&g));
        match read {
            Ok(index) => {
                let prefix = work_tree.strip_prefix(&root).map(|p| p.as_os_str().as_encoded_bytes().to_vec()).unwrap_or_default();
                entries.extend(
                    index
                        .entries
                        .into_iter()
                        .filter(|(_, k)| *k != Kind::GitDir)
                        .map(|(p, k)| if prefix.is_empty() { (p, k) } else { ([prefix.as_slice(), b"/", p.as_slice()].concat(), k) }),
                );
                if work_tree != &root {
                    // The inner repository's own history is the project's too.
                    entries.push(([prefix.as_slice(), b"/.git"].concat(), Kind::GitDir));
                }
            }
            Err(why) => return GitFacts::Unreadable { root, why },
        }
    }
    GitFacts::Tracked { root, index: Arc::new(Index::new(entries)) }
}

/// Whether `dot_git` is a repository directory as git judges one: `HEAD`, `objects` and `refs`.
fn is_git_dir(dot_git: &Path) -> bool {
    std::fs::symlink_metadata(dot_git.join("HEAD")).is_ok_and(|m| m.is_file() || m.is_symlink())
        && dot_git.join("objects").is_dir()
        && dot_git.join("refs").is_dir()
}

/// The repository directory `.git` names: itself, or what its `gitdir:` file points at.
fn git_dir(root: &Path, dot_git: &Path) -> Result<PathBuf, String> {
    let meta = std::fs::metadata(dot_git).map_err(|e| format!("cannot read {}: {e}", dot_git.display()))?;
    if meta.is_dir() {
        return Ok(dot_git.to_path_buf());
    }
    let text = read_text(dot_git).map_err(|e| format!("cannot read {}: {e}", dot_git.display()))?;
    let target = text
        .strip_prefix("gitdir:")
        .map(str::trim)
        .filter(|t| !t.is_empty() && !t.contains('\n'))
        .ok_or_else(|| format!("{} is neither a directory nor a `gitdir:` file", dot_git.display()))?;
    Ok(root.join(target))
}

/// Reads `git_dir/index` (and the shared index a split index names). A missing index is an
/// empty one only in a repository without commits: with commits, a missing index is the agent
/// having removed it, and guard refuses to read "nothing is tracked" from that.
fn read_index(git_dir: &Path) -> Result<Index, String> {
    let path = git_dir.join("index");
    let bytes = match read_capped(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if has_commits(git_dir) {
                return Err(format!("{} is missing, and the repository has commits", path.display()));
            }
            return Ok(Index::new(Vec::new()));
        }
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let parsed = parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut entries = parsed.entries;
    if let Some(shared) = parsed.link {
        // The split index's own entries are additions and replacements (nameless); the shared
        // index holds the rest. Its entries are kept whole (the deletion bitmap is not applied):
        // a path counted as tracked too many is an escalation too many, never a loss.
        let dirs = [git_dir.to_path_buf(), common_dir(git_dir)];
        let name = format!("sharedindex.{shared}");
        let file = dirs
            .iter()
            .map(|d| d.join(&name))
            .find(|p| p.exists())
            .ok_or_else(|| format!("{} is a split index whose shared index {name} guard cannot find", path.display()))?;
        let bytes = read_capped(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let base = parse(&bytes).map_err(|e| format!("{}: {e}", file.display()))?;
        if base.link.is_some() {
            return Err(format!("{}: a shared index that is itself split", file.display()));
        }
        entries.extend(base.entries);
    }
    entries.retain(|(p, _)| !p.is_empty());
    // An index emptied by an allowed git command (`git read-tree --empty`) in a repository with
    // commits: what the work tree holds is the last commit's and the edits since, not nothing.
    if entries.is_empty() && has_commits(git_dir) {
        return Err(format!("{} tracks nothing, and the repository has commits", path.display()));
    }
    Ok(Index::new(entries))
}

/// Reads a regular file of at most [`MAX_INDEX_BYTES`]. Opened non-blocking and refused unless
/// regular: a FIFO or a device the agent put in `.git` (`mkfifo .git/index`, a link to
/// `/dev/zero` or `/dev/stdin`) must not hang guard or feed it without end.
fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let f = crate::state::open_regular(path)?.ok_or_else(|| std::io::Error::other("not a regular file"))?;
    let mut bytes = Vec::new();
    f.take(MAX_INDEX_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_INDEX_BYTES {
        return Err(std::io::Error::other("larger than guard reads"));
    }
    Ok(bytes)
}

/// A small text file of git's (`.git` as a `gitdir:` file, `HEAD`, `commondir`), read as
/// [`read_capped`] reads.
fn read_text(path: &Path) -> std::io::Result<String> {
    let bytes = read_capped(path)?;
    String::from_utf8(bytes).map_err(|_| std::io::Error::other("not text"))
}

/// A worktree's or submodule's `commondir` (the main repository's directory), else itself.
fn common_dir(git_dir: &Path) -> PathBuf {
    match read_text(&git_dir.join("commondir")) {
        Ok(t) => git_dir.join(t.trim()),
        Err(_) => git_dir.to_path_buf(),
    }
}

/// Whether the repository has any commit: a ref file or a packed ref.
fn has_commits(git_dir: &Path) -> bool {
    let common = common_dir(git_dir);
    let packed = std::fs::metadata(common.join("packed-refs")).is_ok_and(|m| m.len() > 0);
    let head = read_text(&git_dir.join("HEAD")).unwrap_or_default();
    let detached = head.len() >= 40 && !head.starts_with("ref:");
    let heads = std::fs::read_dir(common.join("refs/heads")).is_ok_and(|mut d| d.next().is_some());
    packed || detached || heads
}

/// An index file, parsed.
#[derive(Debug, PartialEq, Eq)]
pub struct Parsed {
    pub version: u32,
    pub entries: Vec<(Vec<u8>, Kind)>,
    /// The split index's shared index (hex of its hash), from the `link` extension.
    pub link: Option<String>,
}

/// Parses an index file. The object hash size (SHA-1's 20 bytes or SHA-256's 32) is not written
/// in the index: the one that parses to the end, entries sorted, is the one.
pub fn parse(bytes: &[u8]) -> Result<Parsed, String> {
    match parse_with(bytes, 20) {
        Ok(p) => Ok(p),
        Err(first) => parse_with(bytes, 32).map_err(|_| first),
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).ok_or("offset overflow")?;
        let s = self.bytes.get(self.at..end).ok_or_else(|| format!("truncated at byte {}", self.at))?;
        self.at = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn byte(&mut self) -> Result<u8, String> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    /// git's offset varint (`decode_varint`): each continuation adds one before shifting.
    fn varint(&mut self) -> Result<usize, String> {
        let mut c = self.byte()?;
        let mut v = usize::from(c & 0x7f);
        let mut n = 0;
        while c & 0x80 != 0 {
            n += 1;
            if n > 8 {
                return Err("a v4 path prefix length is too long".into());
            }
            c = self.byte()?;
            v = (v + 1).checked_shl(7).ok_or("a v4 path prefix length overflows")? | usize::from(c & 0x7f);
        }
        Ok(v)
    }

    fn until_nul(&mut self) -> Result<&'a [u8], String> {
        let rest = self.bytes.get(self.at..).unwrap_or_default();
        let n = rest.iter().position(|&b| b == 0).ok_or("a path without its terminating NUL")?;
        let s = self.take(n)?;
        self.at += 1;
        Ok(s)
    }
}

fn parse_with(bytes: &[u8], hash: usize) -> Result<Parsed, String> {
    let mut c = Cursor { bytes, at: 0 };
    if c.take(4)? != b"DIRC" {
        return Err("not a git index (no DIRC signature)".into());
    }
    let version = c.u32()?;
    if !(2..=4).contains(&version) {
        return Err(format!("index version {version}, which guard does not read"));
    }
    let count = c.u32()?;
    if count > MAX_ENTRIES {
        return Err(format!("{count} entries, more than guard reads"));
    }
    let body_end = bytes.len().checked_sub(hash).ok_or("shorter than its checksum")?;
    let mut entries: Vec<(Vec<u8>, Kind)> = Vec::new();
    let mut previous: Vec<u8> = Vec::new();
    for _ in 0..count {
        let start = c.at;
        c.take(24)?;
        let mode = c.u32()?;
        c.take(12 + hash)?;
        let flags = c.u16()?;
        if flags & 0x4000 != 0 {
            if version < 3 {
                return Err("an extended entry in a version 2 index".into());
            }
            c.u16()?;
        }
        let path = if version == 4 {
            let strip = c.varint()?;
            let keep = previous.len().checked_sub(strip).ok_or("a v4 path strips more than the previous path holds")?;
            let rest = c.until_nul()?;
            // Prefix compression lets each entry grow the last one: n entries, n² bytes.
            if keep + rest.len() > MAX_PATH {
                return Err(format!("a path longer than {MAX_PATH} bytes"));
            }
            let mut p = previous.get(..keep).unwrap_or_default().to_vec();
            p.extend_from_slice(rest);
            p
        } else {
            let p = c.until_nul()?.to_vec();
            // Entries are padded with NULs to a multiple of eight bytes (one NUL at least, read).
            let len = c.at - start;
            c.take((8 - len % 8) % 8)?;
            p
        };
        if c.at > body_end {
            return Err("entries run into the checksum".into());
        }
        let kind = match mode >> 12 {
            0o16 => Kind::Gitlink,
            0o04 if path.ends_with(b"/") => Kind::SparseDir,
            0o10 | 0o12 => Kind::File,
            _ => return Err(format!("an entry of mode {mode:o}")),
        };
        let stored = if kind == Kind::SparseDir { path.get(..path.len() - 1).unwrap_or_default().to_vec() } else { path.clone() };
        entries.push((stored, kind));
        previous = path;
    }
    let mut link = None;
    while c.at < body_end {
        let sig = c.take(4)?;
        let size = usize::try_from(c.u32()?).map_err(|_| "an extension too large")?;
        let data = c.take(size)?;
        if c.at > body_end {
            return Err("an extension runs into the checksum".into());
        }
        match sig {
            b"link" => {
                let h = data.get(..hash).ok_or("a truncated link extension")?;
                link = Some(h.iter().map(|b| format!("{b:02x}")).collect());
            }
            // A sparse index: its directory entries were read as such.
            b"sdir" => {}
            // Upper-case extensions are optional caches (TREE, REUC, UNTR, FSMN, EOIE, IEOT).
            [b'A'..=b'Z', ..] => {}
            other => return Err(format!("the required extension {:?}, which guard does not read", String::from_utf8_lossy(other))),
        }
    }
    if c.at != body_end {
        return Err("the extensions do not end at the checksum".into());
    }
    // Entries are sorted by path (stages of one path together); a split index's are not all
    // named. A misread hash size shows up here as garbage out of order.
    if link.is_none() {
        if entries.iter().any(|(p, _)| p.is_empty()) {
            return Err("an entry without a path".into());
        }
        if entries.windows(2).any(|w| matches!(w, [a, b] if a.0 > b.0)) {
            return Err("entries out of order".into());
        }
    }
    Ok(Parsed { version, entries, link })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One index entry as git writes it (SHA-1 object names, zero stat data).
    fn entry(path: &str, mode: u32, version: u32, previous: &str) -> Vec<u8> {
        let mut e = vec![0u8; 24];
        e.extend_from_slice(&mode.to_be_bytes());
        e.extend_from_slice(&[0u8; 12 + 20]);
        let flags = u16::try_from(path.len().min(0xfff)).unwrap_or(0xfff);
        e.extend_from_slice(&flags.to_be_bytes());
        if version == 4 {
            let common = previous.bytes().zip(path.bytes()).take_while(|(a, b)| a == b).count();
            e.push(u8::try_from(previous.len() - common).unwrap_or(0));
            e.extend(path.bytes().skip(common));
            e.push(0);
        } else {
            e.extend_from_slice(path.as_bytes());
            e.push(0);
            while !e.len().is_multiple_of(8) {
                e.push(0);
            }
        }
        e
    }

    fn index(version: u32, paths: &[(&str, u32)], ext: &[u8]) -> Vec<u8> {
        let mut b = b"DIRC".to_vec();
        b.extend_from_slice(&version.to_be_bytes());
        b.extend_from_slice(&u32::try_from(paths.len()).unwrap_or(0).to_be_bytes());
        let mut prev = "";
        for (p, m) in paths {
            b.extend(entry(p, *m, version, prev));
            prev = p;
        }
        b.extend_from_slice(ext);
        b.extend_from_slice(&[0u8; 20]);
        b
    }

    const FILES: &[(&str, u32)] = &[("README.md", 0o100644), ("src/lib.rs", 0o100644), ("src/main.rs", 0o100755), ("vendor/sub", 0o160000)];

    #[test]
    fn versions_two_three_and_four_read_the_same_paths() {
        for v in [2, 3, 4] {
            let p = parse(&index(v, FILES, b""));
            let paths: Option<Vec<String>> = p.as_ref().ok().map(|p| p.entries.iter().map(|(p, _)| show(p)).collect());
            assert_eq!(
                paths,
                Some(vec!["README.md".into(), "src/lib.rs".into(), "src/main.rs".into(), "vendor/sub".into()]),
                "v{v}: {p:?}"
            );
            assert_eq!(p.ok().and_then(|p| p.entries.last().map(|e| e.1)), Some(Kind::Gitlink));
        }
    }

    #[test]
    fn optional_extensions_are_skipped_and_required_ones_refused() {
        let mut tree = b"TREE".to_vec();
        tree.extend_from_slice(&3u32.to_be_bytes());
        tree.extend_from_slice(b"abc");
        assert!(parse(&index(2, FILES, &tree)).is_ok());
        let mut odd = b"zzzz".to_vec();
        odd.extend_from_slice(&0u32.to_be_bytes());
        assert!(parse(&index(2, FILES, &odd)).is_err_and(|e| e.contains("required extension")));
    }

    #[test]
    fn a_split_index_names_its_shared_index() {
        let mut link = b"link".to_vec();
        link.extend_from_slice(&20u32.to_be_bytes());
        link.extend_from_slice(&[0xab; 20]);
        let p = parse(&index(2, FILES, &link));
        assert_eq!(p.ok().and_then(|p| p.link).as_deref(), Some("abababababababababababababababababababab"));
    }

    #[test]
    fn truncated_or_garbled_indexes_are_errors_not_panics() {
        for v in [2, 3, 4] {
            let good = index(v, FILES, b"");
            for n in 0..good.len() {
                assert!(parse(good.get(..n).unwrap_or_default()).is_err(), "v{v}: a prefix of {n} bytes parsed");
            }
            for at in 0..good.len() {
                let mut bad = good.clone();
                if let Some(b) = bad.get_mut(at) {
                    *b ^= 0xff;
                }
                // Flipped stat bytes still parse; nothing may panic.
                let _ = parse(&bad);
            }
        }
        let mut bad = index(2, FILES, b"");
        bad.splice(4..8, 9u32.to_be_bytes());
        assert!(parse(&bad).is_err());
        assert!(parse(&index(2, &[("b", 0o100644), ("a", 0o100644)], b"")).is_err());
    }

    #[test]
    fn directories_holding_tracked_files_and_globs_reaching_them() {
        let ix = Index::example();
        assert_eq!(ix.held_by(b"src").as_deref(), Some("src/lib.rs"));
        assert_eq!(ix.held_by(b"vendor/lib").as_deref(), Some("vendor/lib"));
        assert_eq!(ix.held_by(b"vendor/lib/x").as_deref(), Some("vendor/lib"));
        assert_eq!(ix.held_by(b".git").as_deref(), Some(".git"));
        assert_eq!(ix.held_by(b".git/objects").as_deref(), Some(".git"));
        assert_eq!(ix.held_by(b"target"), None);
        assert_eq!(ix.held_by(b"README.md"), None);
        assert_eq!(ix.held_by(b"README.md/x"), None);
        assert_eq!(ix.held_by(b"sr"), None);
        assert!(ix.reached(b"", &[b"s*"], &[]).is_some());
        assert!(ix.reached(b"", &[b"*.md"], &[]).is_some());
        assert!(ix.reached(b"", &[b"*.log"], &[]).is_none());
        assert!(ix.reached(b"", &[b".*"], &[]).is_some());
        assert!(ix.reached(b"src", &[b"*.o"], &[]).is_none());
        let name = |p: &str| NamePattern { pattern: p.into(), ignore_case: false };
        assert!(ix.reached(b"", &[], &[name("*.pyc")]).is_none());
        assert!(ix.reached(b"", &[], &[name("__pycache__")]).is_none());
        assert!(ix.reached(b"", &[], &[name("*.rs")]).is_some());
        assert!(ix.reached(b"", &[], &[name("src")]).is_some());
        assert!(ix.reached(b"", &[], &[NamePattern { pattern: "README*".into(), ignore_case: true }]).is_some());
    }

    #[test]
    fn glob_matching() {
        for (p, s, want) in [
            ("*", "abc", true),
            ("a*c", "abbbc", true),
            ("a*c", "abbb", false),
            ("?b", "ab", true),
            ("[a-c]x", "bx", true),
            ("[!a-c]x", "bx", false),
            ("[]]", "]", true),
            ("\\*", "*", true),
            ("\\*", "a", false),
            ("*.rs", "main.rs", true),
            ("[", "[", true),
            ("", "", true),
            ("", "a", false),
            ("*a*b", "xaxxb", true),
        ] {
            assert_eq!(glob_match(p.as_bytes(), s.as_bytes()), want, "{p} vs {s}");
        }
    }
}
