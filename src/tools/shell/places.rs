//! Where a path argument lands: guard's own files, a device, a system directory, the user's
//! start-up files, a temp dir, the working directory, or elsewhere. Pure, lexical: no file
//! system access (symlinks are handled by refusing links to guarded paths, see `ln`).

use std::path::{Component, Path, PathBuf};

use super::words::Arg;
use crate::request::Context;

/// Directories whose recursive deletion (or their contents') is catastrophic.
#[rustfmt::skip]
const ROOTS: &[&str] = &[
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt", "/opt", "/proc",
    "/root", "/run", "/sbin", "/snap", "/srv", "/sys", "/usr", "/var", "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib64",
    "/usr/local", "/usr/local/bin", "/usr/share", "/usr/include", "/var/lib", "/var/log", "/etc/ssh", "/Users", "/System",
    "/Library", "/Applications",
];

/// Prefixes under which writes change the system.
#[rustfmt::skip]
const SYSTEM: &[&str] = &[
    "/bin", "/boot", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/opt", "/root", "/sbin", "/srv", "/sys", "/proc", "/usr",
    "/var", "/snap", "/run", "/System", "/Library", "/Applications",
];

const TEMP: &[&str] = &["/tmp", "/var/tmp", "/dev/shm"];

/// Devices that are fine to read and write.
#[rustfmt::skip]
const HARMLESS_DEVICES: &[&str] =
    &["/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty", "/dev/random", "/dev/urandom", "/dev/full"];

#[rustfmt::skip]
const STARTUP: &[&str] = &[
    ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc", ".zprofile", ".zshenv", ".zlogin",
    ".config/fish", ".ssh", ".gitconfig", ".config/git", ".config/autostart", ".xinitrc", ".xprofile", ".inputrc", ".npmrc",
    ".pypirc", ".netrc", ".docker/config.json", ".kube/config", ".aws", ".config/systemd",
];

/// Bin directories whose programs are taken at their name; anything else run by path is unknown.
pub const SYSTEM_BIN: &[&str] = &["/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"];

/// Where a path argument lands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// Known only at run time (dynamic word, or relative to an unknown directory).
    Unknown,
    /// Guard's own state, policy, shims or binary (or, for recursive operations, a parent).
    Guarded(PathBuf),
    /// `/dev/null` and friends.
    HarmlessDevice,
    /// A disk, partition or memory device.
    Device(PathBuf),
    /// `/`, `~`, a top-level system directory, or their contents.
    Root(PathBuf),
    System(PathBuf),
    Startup(PathBuf),
    Temp(PathBuf),
    /// Inside the working directory.
    Inside(PathBuf),
    /// The working directory itself.
    Cwd(PathBuf),
    Outside(PathBuf),
}

/// Resolves `arg` to an absolute, lexically normalised path. A glob's fixed prefix is used,
/// and `contents` says the glob stands for entries inside that directory.
pub fn absolute(arg: &Arg, cwd: Option<&Path>, home: Option<&Path>) -> Option<(PathBuf, bool)> {
    absolute_glob(arg, cwd, home).map(|(p, g)| (p, g != GlobKind::None))
}

/// What a glob stands for: nothing (not a glob), every entry of a directory (`dir/*`), or
/// only some entries (`dir/npm*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GlobKind {
    None,
    All,
    Some,
}

/// Like [`absolute`], telling whether a glob covers every entry of its directory.
pub fn absolute_glob(arg: &Arg, cwd: Option<&Path>, home: Option<&Path>) -> Option<(PathBuf, GlobKind)> {
    let text = match arg {
        Arg::Lit(s) => s.as_str(),
        Arg::Glob(s) => s.as_str(),
        Arg::Dyn { .. } => return None,
    };
    let (fixed, contents) = match arg {
        Arg::Glob(s) => {
            let cut = s.find(['*', '?', '[']).unwrap_or(s.len());
            let fixed = s.get(..cut).unwrap_or_default();
            // `/usr/b*` stands for some entries of `/usr`; `/usr/*` for all of them.
            let (dir, rest) = match fixed.rfind('/') {
                Some(i) => (fixed.get(..=i).unwrap_or_default(), s.get(i + 1..).unwrap_or_default()),
                None => ("", s.as_str()),
            };
            let all = matches!(rest.trim_end_matches('/'), "*" | ".*" | "*.*" | "**");
            (dir, if all { GlobKind::All } else { GlobKind::Some })
        }
        _ => (text, GlobKind::None),
    };
    let expanded: PathBuf = if fixed == "~" || fixed.starts_with("~/") {
        home?.join(fixed.trim_start_matches('~').trim_start_matches('/'))
    } else if fixed.starts_with('~') {
        // `~user`: another user's home; `~root` is /root.
        let user = fixed.trim_start_matches('~').split('/').next().unwrap_or_default();
        let rest = fixed.trim_start_matches('~').trim_start_matches(user).trim_start_matches('/');
        let base = if user == "root" { PathBuf::from("/root") } else { PathBuf::from("/home").join(user) };
        base.join(rest)
    } else if fixed.starts_with('/') {
        PathBuf::from(fixed)
    } else {
        cwd?.join(fixed)
    };
    Some((normalize(&expanded), contents))
}

/// Lexical normalisation: drops `.`, resolves `..` (never above `/`).
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::RootDir | Component::Prefix(_) | Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
        }
    }
    out
}

/// Where `arg` lands. `recursive` makes a parent of a guarded path count as guarded.
pub fn place(arg: &Arg, cwd: Option<&Path>, ctx: &Context, recursive: bool) -> Place {
    let Some((abs, glob)) = absolute_glob(arg, cwd, ctx.home.as_deref()) else {
        return Place::Unknown;
    };
    let contents = glob != GlobKind::None;
    if ctx.guarded.iter().any(|g| abs.starts_with(g)) {
        return Place::Guarded(abs);
    }
    let home = ctx.home.as_deref();
    let is_root = ROOTS.iter().any(|r| abs == Path::new(r)) || home.is_some_and(|h| abs == h);
    // `/usr/*` or `/e*` destroy system trees; `/usr/local/bin/npm*` only some entries in one.
    if is_root && (glob != GlobKind::Some || abs == Path::new("/")) {
        return Place::Root(abs);
    }
    // A recursive operation on a parent of guard's files reaches them; a glob's entries are
    // the directory's children.
    let reaches = |g: &PathBuf| (recursive && g.starts_with(&abs)) || (contents && g.parent() == Some(abs.as_path()));
    if ctx.guarded.iter().any(reaches) {
        return Place::Guarded(abs);
    }
    let s = abs.to_string_lossy();
    // A path *through* a descriptor or a process's links (`exec 3< /; rm -rf /proc/self/fd/3/*`,
    // `/proc/self/cwd/…`, `/proc/$$/root/…`) names wherever that descriptor points: guard
    // cannot follow it. The descriptor itself (`> /dev/fd/2`) stays harmless.
    if through_a_descriptor(&abs, contents) {
        return Place::Unknown;
    }
    if abs.starts_with("/dev") && !abs.starts_with("/dev/shm") {
        if HARMLESS_DEVICES.iter().any(|d| abs == Path::new(d)) || abs.starts_with("/dev/fd") || abs.starts_with("/dev/pts") {
            return Place::HarmlessDevice;
        }
        if abs == Path::new("/dev") || contents {
            return Place::Root(abs);
        }
        return Place::Device(abs);
    }
    if abs.starts_with("/proc/self/fd") {
        return Place::HarmlessDevice;
    }
    if let Some(rel) = home.and_then(|h| abs.strip_prefix(h).ok())
        && STARTUP.iter().any(|f| rel.starts_with(f))
    {
        return Place::Startup(abs);
    }
    // The agents' hook and permission settings and git hooks, in the project too: changing them
    // changes what every later tool call may do.
    if crate::tools::harness::agent_settings(&abs).is_some() {
        return Place::Startup(abs);
    }
    // Inside the working directory wins over "in a temp dir": a project that lives under /tmp
    // is still the project (`rm -rf target` there is not a write outside it). A temp root itself
    // as the working directory is no project.
    if let Some(cwd) = cwd.filter(|c| !TEMP.iter().any(|t| *c == Path::new(t))) {
        if abs == cwd && !contents {
            return Place::Cwd(abs);
        }
        if abs.starts_with(cwd) {
            return Place::Inside(abs);
        }
    }
    if TEMP.iter().any(|t| abs.starts_with(t) && abs != Path::new(t)) {
        return Place::Temp(abs);
    }
    if let Some(cwd) = cwd {
        if abs == cwd && !contents {
            return Place::Cwd(abs);
        }
        if abs.starts_with(cwd) {
            return Place::Inside(abs);
        }
    }
    if SYSTEM.iter().any(|p| abs.starts_with(p)) && !s.starts_with("/var/tmp") {
        return Place::System(abs);
    }
    if TEMP.iter().any(|t| abs == Path::new(t)) {
        return Place::Temp(abs);
    }
    Place::Outside(abs)
}

/// Whether a block-device-like path is a disk, partition or memory device.
pub fn is_disk_device(p: &Path) -> bool {
    let s = p.to_string_lossy();
    let name = s.trim_start_matches("/dev/");
    ["sd", "hd", "vd", "xvd", "nvme", "mmcblk", "dm-", "md", "loop", "nbd", "sr", "disk/", "mapper/", "mem", "kmem", "port", "root", "zram"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// Whether `p` is a system bin dir path (so its program is taken at its name).
pub fn in_system_bin(dir: &Path) -> bool {
    SYSTEM_BIN.iter().any(|b| dir == Path::new(b))
}

/// Whether `dir` is a temp root itself (`/tmp`, not a project under it).
pub fn is_temp_dir_root(dir: &Path) -> bool {
    TEMP.iter().any(|t| dir == Path::new(t))
}

pub fn is_temp_dir(dir: &Path) -> bool {
    TEMP.iter().any(|t| dir.starts_with(t))
}

/// Whether `abs` goes below a descriptor or a process link: `/dev/fd/N/…`, `/proc/*/fd/N/…`,
/// `/proc/*/{cwd,root}/…` (and `/proc/*/cwd`, `/proc/*/root` themselves, which are
/// directories); with `contents` (a glob of a directory's entries) the descriptor itself counts.
fn through_a_descriptor(abs: &Path, contents: bool) -> bool {
    let parts: Vec<&std::ffi::OsStr> = abs.iter().skip(1).collect();
    match parts.as_slice() {
        [dev, fd, _, _, ..] if *dev == "dev" && *fd == "fd" => true,
        [dev, fd, _] if *dev == "dev" && *fd == "fd" => contents,
        [proc, _, fd, _, _, ..] if *proc == "proc" && *fd == "fd" => true,
        [proc, _, fd, _] if *proc == "proc" && *fd == "fd" => contents,
        [proc, _, link, ..] if *proc == "proc" && (*link == "cwd" || *link == "root") => true,
        _ => false,
    }
}
