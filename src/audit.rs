//! The hash-chained JSONL audit log: append, verify, tail.
//!
//! Owns `audit.jsonl`, `audit.head` and `audit.lock`. Every record is a JSON object whose
//! `hash` is the SHA-256 of its canonical form (all other keys, sorted, compact, UTF-8) and
//! whose `prev` is the previous record's hash. Appends hold an exclusive lock, read the tip
//! from the file (never from memory), write one line with `O_APPEND`, `fdatasync`, then move
//! the head anchor. It must never rewrite or delete a line: damage is answered by appending.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::digest::sha256_hex;
use crate::error::{Error, Result};
use crate::state::{Lock, Paths};

pub const ZERO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The canonical bytes of a record: every key but `hash`, sorted, compact JSON.
///
/// `serde_json::Map` is a `BTreeMap` here (the `preserve_order` feature is off), so keys come
/// out sorted, exactly as Python's `json.dumps(obj, sort_keys=True, separators=(",", ":"),
/// ensure_ascii=False)` writes them.
pub fn canonical(record: &Map<String, Value>) -> Result<String> {
    let mut m = record.clone();
    m.remove("hash");
    serde_json::to_string(&m).map_err(|e| Error::Internal(format!("cannot encode record: {e}")))
}

fn record_hash(record: &Map<String, Value>) -> Result<String> {
    Ok(sha256_hex(canonical(record)?.as_bytes()))
}

/// What an append wrote.
#[derive(Debug, Clone)]
pub struct Appended {
    pub seq: u64,
    pub hash: String,
}

/// The last intact record of the log, as found on disk under the lock.
struct Tip {
    seq: u64,
    hash: String,
}

/// Appends one record of `kind` with `fields`, handling a torn tail and a moved head first.
pub fn append(paths: &Paths, kind: &str, fields: Map<String, Value>) -> Result<Appended> {
    let (appended, unsynced) = append_unsynced(paths, kind, fields)?;
    unsynced.sync()?;
    Ok(appended)
}

/// A record that is in the log (every reader sees it) but not yet forced to disk. It keeps the
/// log locked until [`Unsynced::sync`]: the fdatasync, then the head anchor, then the unlock, in
/// the same order as [`append`]. Dropping it syncs too (reporting a failure on stderr).
#[must_use = "sync the record: until then the log stays locked"]
pub struct Unsynced {
    file: Option<File>,
    path: std::path::PathBuf,
    head: std::path::PathBuf,
    seq: u64,
    hash: String,
    /// `None` once handed to a [`Finisher`].
    lock: Option<Lock>,
}

impl Unsynced {
    pub fn sync(mut self) -> Result<()> {
        self.finish()
    }

    fn finish(&mut self) -> Result<()> {
        let Some(file) = self.file.take() else { return Ok(()) };
        file.sync_data().map_err(|e| Error::io("cannot sync audit log", &self.path, e))?;
        write_head(&self.head, self.seq, &self.hash)
    }

    /// Leaves the record's fdatasync, the head's move and the unlock to `finisher` (or to one
    /// started now), so that guard's exit — what the agent waits for — does not wait for the
    /// disk: an fdatasync here costs 0.5–0.9 ms, the largest single piece of a contained line's
    /// time after its program ends. The log stays locked until the finisher is done, so no
    /// append and no `guard audit verify` sees the record unsynced, and a crash before can only
    /// leave the head behind the log, as after any append. Meant as the caller's last append:
    /// another would wait for the finisher. Where no finisher can take it, synced here.
    pub fn finish_after_exit(mut self, finisher: Option<Finisher>) -> Result<()> {
        let handed = finisher.or_else(Finisher::start).is_some_and(|finisher| {
            let (Some(file), Some(lock), Some((message, head))) = (&self.file, self.lock.as_ref().and_then(Lock::fd), self.handover())
            else {
                return false;
            };
            finisher.hand(&message, [file.as_fd(), lock, head.as_fd()]).is_ok()
        });
        if !handed {
            return self.sync();
        }
        // The finisher has the same open file descriptions, the lock's included, and unlocks it
        // when done: this process's descriptors close, the lock stays.
        self.file = None;
        if let Some(lock) = self.lock.take() {
            lock.close_keeping_lock();
        }
        Ok(())
    }

    /// What the finisher writes, made here (it shares this process's memory and must not
    /// allocate: see `sandbox::linux::start_finisher`): the head's new body and, should the
    /// sync fail, the record that says so, with the head opened for it.
    fn handover(&self) -> Option<(Vec<u8>, File)> {
        let head = OpenOptions::new().write(true).create(true).truncate(false).mode(0o600).open(&self.head).ok()?;
        let body = head_body(self.seq, &self.hash);
        let mut m = Map::new();
        m.insert("record_seq".into(), json!(self.seq));
        m.insert("detail".into(), json!("the audit log could not be synced after this record: it may not be on disk"));
        let (failure, _) = record_line(self.seq + 1, &self.hash, "sync-failed", m).ok()?;
        let mut message = u16::try_from(body.len()).ok()?.to_le_bytes().to_vec();
        message.extend_from_slice(body.as_bytes());
        message.extend_from_slice(&failure);
        Some((message, head))
    }
}

/// The most a hand-over to the [`Finisher`] carries (the head's body and one record line).
const MAX_HANDED: usize = 4096;

/// A process that finishes an exec record after guard has exited
/// ([`Unsynced::finish_after_exit`]): started while guard waits for a line (or at the end),
/// sharing guard's memory (`sandbox::linux::start_finisher`). It says it is ready once it has
/// let go of guard's stdio, then waits on a socket for the log's, the lock's and the head's
/// descriptors with the head's new body and the record it appends if the sync fails; at the
/// socket's end without them (guard died, or had no record for it) it exits.
pub struct Finisher {
    to: std::os::unix::net::UnixStream,
}

impl Finisher {
    /// `None` where nothing would reap it (see `sandbox::linux::orphans_reaped`) or it cannot
    /// be started.
    pub fn start() -> Option<Finisher> {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().ok()?;
        crate::sandbox::linux::start_finisher(theirs.into(), ours.as_fd()).then_some(Finisher { to: ours })
    }

    fn hand(&self, message: &[u8], fds: [std::os::fd::BorrowedFd<'_>; 3]) -> std::io::Result<()> {
        use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
        if message.len() > MAX_HANDED {
            return Err(std::io::Error::other("too much to hand to the finisher"));
        }
        if rustix::io::read(&self.to, &mut [0u8; 1])? != 1 {
            return Err(std::io::Error::other("the finisher ended before it was ready"));
        }
        let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(3))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        control.push(SendAncillaryMessage::ScmRights(&fds));
        let sent = rustix::net::sendmsg(&self.to, &[std::io::IoSlice::new(message)], &mut control, SendFlags::empty())?;
        if sent == message.len() { Ok(()) } else { Err(std::io::Error::other("the finisher took part of the record")) }
    }
}

/// The finisher's work (see [`Finisher`]), without allocating: it runs on a stack of its own
/// in guard's memory, which guard's exit leaves to it. Its exit code: 0 when it had nothing to
/// do or did it, 74 when the sync failed.
pub(crate) fn finish_handed(from: std::os::fd::BorrowedFd<'_>) -> i32 {
    use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(3))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut buf = [0u8; MAX_HANDED];
    let Ok(got) = rustix::net::recvmsg(from, &mut [std::io::IoSliceMut::new(&mut buf)], &mut control, RecvFlags::CMSG_CLOEXEC) else {
        return 0;
    };
    // Never dropped: the C library's `close` touches the calling thread's data, which is
    // guard's (the finisher's end closes them all).
    let (mut log, mut lock, mut head) = (None, None, None);
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = message {
            for fd in fds.map(std::mem::ManuallyDrop::new) {
                if log.is_none() {
                    log = Some(fd);
                } else if lock.is_none() {
                    lock = Some(fd);
                } else if head.is_none() {
                    head = Some(fd);
                }
            }
        }
    }
    let (Some(log), Some(lock), Some(head)) = (log, lock, head) else { return 0 };
    let message = buf.get(..got.bytes).unwrap_or_default();
    let body_len = message.get(..2).and_then(|b| <[u8; 2]>::try_from(b).ok()).map_or(0, |b| usize::from(u16::from_le_bytes(b)));
    let (Some(body), Some(failure)) = (message.get(2..2 + body_len), message.get(2 + body_len..)) else {
        let _ = rustix::fs::flock(&*lock, rustix::fs::FlockOperation::Unlock);
        return 70;
    };
    let (log, lock, head) = (&*log, &*lock, &*head);
    let code = if rustix::fs::fdatasync(log).is_ok() {
        let _ = rustix::io::pwrite(head, body, 0).and_then(|_| rustix::fs::ftruncate(head, body.len() as u64));
        0
    } else {
        // Said in the log itself, where the next `guard audit tail` shows it: nobody reads this
        // process's stderr unless it is a terminal, and guard has exited with the command's
        // code. The head stays on the last record known to be on disk.
        let _ = rustix::io::write(log, failure).and_then(|_| rustix::fs::fdatasync(log));
        let _ = rustix::io::write(
            rustix::stdio::stderr(),
            b"guard: cannot sync the audit log after a command ended: its exec record may not be on disk (see guard audit tail)\n",
        );
        74
    };
    let _ = rustix::fs::flock(lock, rustix::fs::FlockOperation::Unlock);
    code
}

impl Drop for Unsynced {
    fn drop(&mut self) {
        if let Err(e) = self.finish() {
            eprintln!("{e}");
        }
    }
}

/// Like [`append`], but leaves the last record's fdatasync to the caller, who can overlap it
/// with other work (guard starts the command meanwhile: see `lib.rs`).
pub fn append_unsynced(paths: &Paths, kind: &str, fields: Map<String, Value>) -> Result<(Appended, Unsynced)> {
    // The state dir exists on every append but the first: create it only when the lock file
    // cannot be opened (two syscalls less per command).
    let lock = match Lock::exclusive(&paths.audit_lock()) {
        Ok(lock) => lock,
        Err(_) => {
            paths.ensure_home()?;
            Lock::exclusive(&paths.audit_lock())?
        }
    };
    let log_path = paths.audit_log();
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&log_path)
        .map_err(|e| Error::io("cannot open audit log", &log_path, e))?;

    let mut tip = read_tip(&mut file, &log_path)?;
    let head = read_head(&paths.audit_head());

    if tip.is_none() {
        let log_id = crate::digest::random_hex(16)?;
        let mut g = Map::new();
        g.insert("log_id".into(), json!(log_id));
        g.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
        tip = Some(write_record(&mut file, &log_path, 0, ZERO_HASH, "genesis", g)?);
    }
    let Some(mut tip) = tip else {
        return Err(Error::Internal("audit log has no tip after genesis".into()));
    };

    // The head anchor moves only under the lock, right after each append, so it is never
    // ahead of the file unless lines were removed.
    if let Some((hseq, hhash)) = head {
        let problem = if hseq > tip.seq {
            Some(format!("audit.head says seq {hseq} but the log ends at seq {}: lines were deleted", tip.seq))
        } else if hseq == tip.seq && hhash != tip.hash {
            Some(format!("audit.head hash for seq {hseq} does not match the log: the last line was replaced"))
        } else {
            None
        };
        if let Some(detail) = problem {
            let mut t = Map::new();
            t.insert("detail".into(), json!(detail));
            tip = write_record(&mut file, &log_path, tip.seq + 1, &tip.hash, "tamper", t)?;
        }
    }

    let rec = write_line(&mut file, &log_path, tip.seq + 1, &tip.hash, kind, fields)?;
    let appended = Appended { seq: rec.seq, hash: rec.hash.clone() };
    Ok((appended, Unsynced { file: Some(file), path: log_path, head: paths.audit_head(), seq: rec.seq, hash: rec.hash, lock: Some(lock) }))
}

/// Writes one record and forces it to disk.
fn write_record(file: &mut File, path: &Path, seq: u64, prev: &str, kind: &str, fields: Map<String, Value>) -> Result<Tip> {
    let tip = write_line(file, path, seq, prev, kind, fields)?;
    file.sync_data().map_err(|e| Error::io("cannot sync audit log", path, e))?;
    Ok(tip)
}

/// Writes one record (one `write` of the whole line), without forcing it to disk.
fn write_line(file: &mut File, path: &Path, seq: u64, prev: &str, kind: &str, fields: Map<String, Value>) -> Result<Tip> {
    let (line, tip) = record_line(seq, prev, kind, fields)?;
    // One write of the whole line on an O_APPEND descriptor, under the lock: lines never interleave.
    file.write_all(&line).map_err(|e| Error::io("cannot append to audit log", path, e))?;
    Ok(tip)
}

/// One record's line (newline included), chained after `prev`.
fn record_line(seq: u64, prev: &str, kind: &str, mut fields: Map<String, Value>) -> Result<(Vec<u8>, Tip)> {
    fields.insert("seq".into(), json!(seq));
    fields.insert("prev".into(), json!(prev));
    fields.insert("kind".into(), json!(kind));
    fields.insert("ts".into(), json!(crate::rfc3339::format_millis(crate::rfc3339::now_millis())));
    let hash = record_hash(&fields)?;
    fields.insert("hash".into(), json!(hash));
    let mut line = serde_json::to_vec(&fields).map_err(|e| Error::Internal(format!("cannot encode record: {e}")))?;
    line.push(b'\n');
    Ok((line, Tip { seq, hash }))
}

/// Moves the head anchor. It is overwritten in place, without fsync: the log line it points
/// at was fdatasync'd first, so a crash can only leave the head behind the log (which verify
/// reports as a note), never ahead of it. The content only grows, and a sub-sector write at
/// offset 0 is not torn on any storage guard targets.
fn write_head(path: &Path, seq: u64, hash: &str) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let body = head_body(seq, hash);
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io("cannot open", path, e))?;
    f.write_all_at(body.as_bytes(), 0).map_err(|e| Error::io("cannot write", path, e))?;
    f.set_len(body.len() as u64).map_err(|e| Error::io("cannot write", path, e))
}

/// `audit.head`'s content for record `seq` with `hash`.
fn head_body(seq: u64, hash: &str) -> String {
    format!("{{\"hash\":\"{hash}\",\"seq\":{seq}}}\n")
}

fn read_head(path: &Path) -> Option<(u64, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    Some((v.get("seq")?.as_u64()?, v.get("hash")?.as_str()?.to_string()))
}

/// Finds the last intact record. A torn tail (bytes after the last newline) is closed with a
/// newline and answered with a `recovery` record; it is never removed.
fn read_tip(file: &mut File, path: &Path) -> Result<Option<Tip>> {
    let len = file.metadata().map_err(|e| Error::io("cannot stat audit log", path, e))?.len();
    if len == 0 {
        return Ok(None);
    }
    let mut window: u64 = 8 * 1024;
    loop {
        let start = len.saturating_sub(window);
        let mut buf = Vec::new();
        file.seek(SeekFrom::Start(start)).map_err(|e| Error::io("cannot read audit log", path, e))?;
        file.read_to_end(&mut buf).map_err(|e| Error::io("cannot read audit log", path, e))?;
        let (body, torn): (&[u8], &[u8]) = match buf.iter().rposition(|&b| b == b'\n') {
            Some(i) => (buf.get(..i).unwrap_or_default(), buf.get(i + 1..).unwrap_or_default()),
            None if start > 0 => {
                window = window.saturating_mul(4);
                continue;
            }
            None => (&[], &buf),
        };
        let has_complete_line = buf.len() != torn.len();
        let last_line = match body.iter().rposition(|&b| b == b'\n') {
            Some(j) => body.get(j + 1..),
            None if start == 0 => has_complete_line.then_some(body),
            None => {
                window = window.saturating_mul(4);
                continue;
            }
        };
        let mut tip = match last_line {
            None => None,
            Some(line) => match parse_record(line) {
                Some((seq, hash)) => Some(Tip { seq, hash }),
                // The last complete line is not a record: rescan the whole file (rare).
                None => return rescan_tip(file, path),
            },
        };
        if !torn.is_empty() {
            tip = recover_torn(file, path, tip, torn.to_vec())?;
        }
        return Ok(tip);
    }
}

fn rescan_tip(file: &mut File, path: &Path) -> Result<Option<Tip>> {
    file.seek(SeekFrom::Start(0)).map_err(|e| Error::io("cannot read audit log", path, e))?;
    let mut all = Vec::new();
    file.read_to_end(&mut all).map_err(|e| Error::io("cannot read audit log", path, e))?;
    let mut lines: Vec<&[u8]> = all.split(|&b| b == b'\n').collect();
    let torn = lines.pop().filter(|t| !t.is_empty()).map(<[u8]>::to_vec);
    let last_good = lines.iter().rev().find_map(|l| parse_record(l));
    let Some((seq, hash)) = last_good else {
        return Err(Error::Data(format!(
            "guard: audit log {} holds no valid record; move it aside for inspection and run again",
            path.display()
        )));
    };
    let mut tip = Some(Tip { seq, hash });
    if let Some(torn) = torn {
        tip = recover_torn(file, path, tip, torn)?;
    }
    let Some(tip) = tip else { return Ok(None) };
    // Answer the damage on the record: the verifier names the bad line, the chain goes on.
    let mut m = Map::new();
    m.insert("detail".into(), json!("a line near the end of the log is not a valid record (edited or garbage)"));
    Ok(Some(write_record(file, path, tip.seq + 1, &tip.hash, "tamper", m)?))
}

fn recover_torn(file: &mut File, path: &Path, tip: Option<Tip>, torn: Vec<u8>) -> Result<Option<Tip>> {
    file.write_all(b"\n").map_err(|e| Error::io("cannot append to audit log", path, e))?;
    // A record that was fully written but lost its newline is complete: keep it as the tip.
    if let Some((seq, hash)) = parse_record(&torn)
        && tip.as_ref().is_none_or(|t| seq == t.seq + 1)
    {
        return Ok(Some(Tip { seq, hash }));
    }
    let Some(tip) = tip else {
        return Err(Error::Data(format!(
            "guard: audit log {} starts with a torn line and has no valid record; move it aside and run again",
            path.display()
        )));
    };
    let mut m = Map::new();
    m.insert("torn_bytes".into(), json!(torn.len()));
    m.insert("torn_sha256".into(), json!(sha256_hex(&torn)));
    Ok(Some(write_record(file, path, tip.seq + 1, &tip.hash, "recovery", m)?))
}

/// Parses one line into (seq, hash) if it is a record whose hash matches its content.
fn parse_record(line: &[u8]) -> Option<(u64, String)> {
    let Value::Object(m) = serde_json::from_slice::<Value>(line).ok()? else {
        return None;
    };
    let seq = m.get("seq")?.as_u64()?;
    let hash = m.get("hash")?.as_str()?.to_string();
    (record_hash(&m).ok()? == hash).then_some((seq, hash))
}

/// The outcome of a full verification.
#[derive(Debug)]
pub struct Verified {
    pub records: u64,
    pub notes: Vec<String>,
    /// Records that carry a signed receipt, with their line numbers, for signature checks.
    pub receipts: Vec<(u64, Map<String, Value>)>,
}

/// Verifies the whole chain and the head anchor. A problem is an `Error::Data` naming the line.
pub fn verify(paths: &Paths) -> Result<Verified> {
    // Whatever stops guard from reading the log or its head is a failed verification (65),
    // never "no log yet": an unreadable state dir proves nothing about the chain.
    let cannot =
        |what: &Path, e: std::io::Error| Error::Data(format!("guard: cannot verify the audit log: {} is unreadable ({e})", what.display()));
    let log = paths.audit_log();
    match std::fs::metadata(&paths.home) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Verified { records: 0, notes: vec!["no audit log yet".into()], receipts: Vec::new() });
        }
        Err(e) => return Err(cannot(&paths.home, e)),
        Ok(m) if !m.is_dir() => {
            return Err(Error::Data(format!("guard: cannot verify the audit log: {} is not a directory", paths.home.display())));
        }
        Ok(_) => {}
    }
    std::fs::read_dir(&paths.home).map_err(|e| cannot(&paths.home, e))?;
    match std::fs::metadata(&log) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if paths.audit_head().exists() {
                return Err(bad(1, "deleted: audit.head exists but the audit log does not"));
            }
            return Ok(Verified { records: 0, notes: vec!["no audit log yet".into()], receipts: Vec::new() });
        }
        Err(e) => return Err(cannot(&log, e)),
        Ok(_) => {}
    }
    let _lock = Lock::shared(&paths.audit_lock())?;
    let bytes = std::fs::read(&log).map_err(|e| cannot(&log, e))?;
    let head_path = paths.audit_head();
    let head = match std::fs::read(&head_path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(cannot(&head_path, e)),
        Ok(b) => Some(parse_head(&b).ok_or_else(|| {
            Error::Data(format!("guard: audit chain anchor {} is not a head record (garbage or edited)", head_path.display()))
        })?),
    };
    verify_bytes(&bytes, head.as_ref().map(|(s, h)| (*s, h.as_str())))
}

/// `audit.head`'s content: `{"seq": N, "hash": "<64 hex>"}`.
fn parse_head(bytes: &[u8]) -> Option<(u64, String)> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let hash = v.get("hash")?.as_str()?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((v.get("seq")?.as_u64()?, hash.to_string()))
}

fn bad(line: u64, what: impl std::fmt::Display) -> Error {
    Error::Data(format!("guard: audit chain broken at line {line}: {what}"))
}

/// Verifies log bytes against an optional head anchor (seq, hash).
pub fn verify_bytes(bytes: &[u8], head: Option<(u64, &str)>) -> Result<Verified> {
    let ends_clean = bytes.is_empty() || bytes.last() == Some(&b'\n');
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if ends_clean {
        lines.pop();
    }
    let total = lines.len();
    let mut expected_seq = 0u64;
    let mut prev = ZERO_HASH.to_string();
    let mut pending_torn: Option<(u64, &[u8])> = None;
    let mut notes = Vec::new();
    let mut records = 0u64;
    let mut hashes: Vec<String> = Vec::with_capacity(total);
    let mut receipts = Vec::new();

    for (i, raw) in lines.iter().enumerate() {
        let line_no = i as u64 + 1;
        let parsed = serde_json::from_slice::<Value>(raw).ok();
        let Some(Value::Object(rec)) = parsed else {
            if i + 1 == total && !ends_clean {
                return Err(bad(
                    line_no,
                    "truncated: the last line is incomplete (a crash mid-write, or cut); the next guard run appends a recovery record",
                ));
            }
            if let Some((l, _)) = pending_torn {
                return Err(bad(l, "not a record (garbage or an inserted line)"));
            }
            pending_torn = Some((line_no, raw));
            continue;
        };
        let Some(stored) = rec.get("hash").and_then(Value::as_str) else {
            return Err(bad(line_no, "record has no hash (inserted or forged line)"));
        };
        if record_hash(&rec)? != stored {
            return Err(bad(line_no, "edited: the hash does not match the content"));
        }
        let seq = rec.get("seq").and_then(Value::as_u64);
        let kind = rec.get("kind").and_then(Value::as_str).unwrap_or("");
        let rprev = rec.get("prev").and_then(Value::as_str).unwrap_or("");
        if let Some((torn_line, torn)) = pending_torn.take() {
            let matches = kind == "recovery" && rec.get("torn_sha256").and_then(Value::as_str) == Some(sha256_hex(torn).as_str());
            if !matches {
                return Err(bad(torn_line, "not a record (garbage or an inserted line)"));
            }
            notes.push(format!("line {torn_line}: torn line from an interrupted write, recovered at line {line_no}"));
        }
        let Some(seq) = seq else {
            return Err(bad(line_no, "record has no seq (inserted or forged line)"));
        };
        if seq != expected_seq {
            if seq > expected_seq {
                return Err(bad(
                    line_no,
                    format!("deleted: seq jumps from {} to {seq}, {} record(s) missing", expected_seq.wrapping_sub(1), seq - expected_seq),
                ));
            }
            return Err(bad(line_no, format!("reordered or duplicated: seq {seq} where {expected_seq} was expected")));
        }
        if rprev != prev {
            return Err(bad(line_no, "inserted or forged: prev does not match the previous record's hash"));
        }
        if seq == 0 && kind != "genesis" {
            return Err(bad(line_no, "the first record is not a genesis record"));
        }
        if kind == "tamper" {
            let detail = rec.get("detail").and_then(Value::as_str).unwrap_or("tampering detected");
            return Err(bad(line_no, format!("guard recorded tampering when it appended: {detail}")));
        }
        prev = stored.to_string();
        hashes.push(prev.clone());
        if rec.contains_key("receipt") {
            receipts.push((line_no, rec.clone()));
        }
        expected_seq += 1;
        records += 1;
    }
    if let Some((l, _)) = pending_torn {
        return Err(bad(l, "not a record (garbage appended)"));
    }
    if let Some((hseq, hhash)) = head {
        let last = expected_seq.checked_sub(1);
        match last {
            Some(last) if hseq > last => {
                return Err(bad(
                    total as u64 + 1,
                    format!(
                        "deleted: audit.head says seq {hseq} but the log ends at seq {last} ({} record(s) removed from the end)",
                        hseq - last
                    ),
                ));
            }
            None if hseq > 0 || !hhash.is_empty() => {
                return Err(bad(1, format!("deleted: audit.head says seq {hseq} but the log is empty")));
            }
            _ => {}
        }
        let at = usize::try_from(hseq).ok().and_then(|i| hashes.get(i));
        if at.map(String::as_str) != Some(hhash) {
            return Err(bad(hseq + 1, "head mismatch: audit.head does not match this record (last line replaced?)"));
        }
        if let Some(last) = last.filter(|&l| l > hseq) {
            notes.push(format!("audit.head is {} record(s) behind (a crash between append and head update)", last - hseq));
        }
    } else if records > 0 {
        notes.push("no audit.head anchor: deletion of the last lines cannot be detected".into());
    }
    Ok(Verified { records, notes, receipts })
}

/// The last `n` records, oldest first.
pub fn tail(paths: &Paths, n: usize) -> Result<Vec<Value>> {
    let log = paths.audit_log();
    let text = match std::fs::read(&log) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("cannot read audit log", &log, e)),
    };
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    Ok(lines
        .get(start..)
        .unwrap_or_default()
        .iter()
        .map(|l| serde_json::from_slice(l).unwrap_or_else(|_| json!({"unparseable": String::from_utf8_lossy(l)})))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> (tempfile::TempDir, Paths) {
        let d = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let p = Paths { home: d.path().join("home"), policy: None };
        (d, p)
    }

    #[test]
    fn append_then_verify_is_intact() {
        let (_d, p) = paths();
        for i in 0..5 {
            let mut m = Map::new();
            m.insert("i".into(), json!(i));
            assert!(append(&p, "test", m).is_ok());
        }
        let v = verify(&p).map(|v| v.records).ok();
        assert_eq!(v, Some(6));
    }

    #[test]
    fn torn_tail_is_recovered_with_a_record() {
        let (_d, p) = paths();
        assert!(append(&p, "test", Map::new()).is_ok());
        let mut f = OpenOptions::new().append(true).open(p.audit_log()).unwrap_or_else(|e| unreachable!("{e}"));
        let _ = f.write_all(b"{\"seq\":2,\"kind\":\"te");
        assert!(verify(&p).is_err());
        assert!(append(&p, "test", Map::new()).is_ok());
        let v = verify(&p).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(v.records, 4);
        assert!(v.notes.iter().any(|n| n.contains("torn")));
    }
}
