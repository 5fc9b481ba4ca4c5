//! Human approvals an agent cannot forge: the approver key, requests, signed receipts
//! (approvals, rejections, leases), their single use, and `--wait`.
//!
//! Owns `approver.json`, `requests/`, `approvals/` and `leases/` in the state dir. Only a person
//! who knows the approver passphrase can make a receipt: guard keeps the public key and the salt,
//! and re-derives the signing key with argon2id from the passphrase typed at `guard approve`.
//! On the hot path it does no argon2 work and checks a signature only when a receipt is used.
//! It must never turn a block into an allow: it only answers for escalations.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::decision::{Decision, Verdict};
use crate::digest::{hex, random_hex, sha256_hex};
use crate::error::{Error, Result};
use crate::policy::{Policy, ToolName};
use crate::request::Request;
use crate::rfc3339::{format_millis, now_millis};
use crate::state::{Lock, Paths, atomic_write, ensure_private_dir};

/// argon2id lanes for new approver keys (memory and passes: see `calibrate_kdf`).
const KDF_P: u32 = 1;
/// Domain separation: a receipt signature can never be mistaken for anything else.
const SIGN_DOMAIN: &str = "guard-receipt-v1\n";

// ---------------------------------------------------------------- files

fn approver_path(p: &Paths) -> PathBuf {
    p.home.join("approver.json")
}
fn requests_dir(p: &Paths) -> PathBuf {
    p.home.join("requests")
}
fn approvals_dir(p: &Paths) -> PathBuf {
    p.home.join("approvals")
}
fn leases_dir(p: &Paths) -> PathBuf {
    p.home.join("leases")
}
fn state_lock(p: &Paths) -> PathBuf {
    p.home.join("state.lock")
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Data(format!("guard: {} is corrupt ({e}); move it aside and try again", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("cannot read", path, e)),
    }
}

fn write_json(path: &Path, v: &impl Serialize) -> Result<()> {
    if let Some(dir) = path.parent() {
        ensure_private_dir(dir)?;
    }
    let bytes = serde_json::to_vec_pretty(v).map_err(|e| Error::Internal(format!("cannot encode {}: {e}", path.display())))?;
    atomic_write(path, &bytes)
}

// ---------------------------------------------------------------- the approver key

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApproverFile {
    pub version: u32,
    pub key_id: String,
    pub public_key: String,
    pub salt: String,
    pub kdf: Kdf,
    /// Earlier keys, kept so `guard audit verify` can still check old receipts. They can no
    /// longer approve anything.
    #[serde(default)]
    pub retired: Vec<RetiredKey>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Kdf {
    pub alg: String,
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RetiredKey {
    pub key_id: String,
    pub public_key: String,
}

fn key_id(public: &VerifyingKey) -> String {
    sha256_hex(&public.to_bytes()).chars().take(16).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok())).collect()
}

fn verifying_key(hex_key: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = unhex(hex_key)?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// Derives the signing key from a passphrase (argon2id); the only slow step, never on the hot path.
fn derive(passphrase: &str, salt: &[u8], kdf: &Kdf) -> Result<SigningKey> {
    let params = argon2::Params::new(kdf.m_kib, kdf.t, kdf.p, Some(32))
        .map_err(|e| Error::Data(format!("guard: bad approver key parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut seed = [0u8; 32];
    argon.hash_password_into(passphrase.as_bytes(), salt, &mut seed).map_err(|e| Error::Internal(format!("key derivation failed: {e}")))?;
    Ok(SigningKey::from_bytes(&seed))
}

pub fn load_approver(p: &Paths) -> Result<Option<ApproverFile>> {
    read_json(&approver_path(p))
}

/// The fewest guesses (log10) zxcvbn may estimate for an approver passphrase: zxcvbn's top
/// score (4). Its score 3 starts at 10^8, and `Summer2024!!` scores 3 — the approver file is
/// readable, so the passphrase must hold out offline, at a cost per guess of [`KDF_TARGET`].
const MIN_GUESSES_LOG10: f64 = 10.0;

/// Why a passphrase is too weak, if it is: zxcvbn's estimate (which knows common passwords,
/// words, names, dates, keyboard walks, l33t and repeats), with guard's own words as user input.
pub fn weakness(pass: &str) -> Option<String> {
    if pass.chars().count() < 12 {
        return Some("use at least 12 characters".into());
    }
    let user = std::env::var("USER").unwrap_or_default();
    let e = zxcvbn::zxcvbn(pass, &["guard", "approver", "approve", "passphrase", "terraform", "kubectl", &user]);
    if e.guesses_log10() >= MIN_GUESSES_LOG10 && u8::from(e.score()) >= 3 {
        return None;
    }
    let hint = e.feedback().map(|f| format!(" ({f})")).unwrap_or_default();
    Some(format!(
        "zxcvbn estimates it falls to about 10^{:.0} guesses (score {} of 4); guard needs 10^{MIN_GUESSES_LOG10:.0} — use four or more unrelated words{hint}",
        e.guesses_log10().floor(),
        u8::from(e.score())
    ))
}

/// The terminal is the only way a passphrase reaches guard: never argv, env or a pipe.
fn require_terminal(what: &str) -> Result<()> {
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        Ok(())
    } else {
        Err(Error::Blocked(format!(
            "guard: {what} needs a person at an interactive terminal (stdin and stdout must be a terminal); refused"
        )))
    }
}

fn prompt_passphrase(prompt: &str) -> Result<String> {
    crate::terminal::read_passphrase(prompt)
}

/// A new passphrase: checked for strength as soon as it is typed, then asked once more.
fn prompt_new_passphrase() -> Result<String> {
    loop {
        let p = prompt_passphrase("New approver passphrase")?;
        if let Some(why) = weakness(&p) {
            eprintln!("guard: that passphrase is too weak: {why}");
            continue;
        }
        if prompt_passphrase("Repeat it")? != p {
            eprintln!("guard: the two passphrases differ; try again");
            continue;
        }
        return Ok(p);
    }
}

/// How long one guess at the passphrase must take on this machine (one argon2id derivation).
const KDF_TARGET: std::time::Duration = std::time::Duration::from_millis(500);
/// argon2id memory for new keys: 64 MiB (what a GPU must hold per guess).
const KDF_NEW_M_KIB: u32 = 64 * 1024;
const KDF_MAX_T: u32 = 64;

/// argon2id parameters for a new key, sized so that one derivation takes at least
/// [`KDF_TARGET`] of CPU time here: one pass and three are measured, and the passes scaled
/// from the difference, with a 25% margin. They are stored with the key, so keys made on
/// another machine, or with older parameters, still verify with their own.
fn calibrate_kdf() -> Result<Kdf> {
    let salt = [0u8; 16];
    // CPU time of this thread, not wall time: on a busy machine wall time would overstate what
    // a guess costs, and the key would be weaker than intended once the machine is idle.
    let cpu = || {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        std::time::Duration::new(u64::try_from(t.tv_sec).unwrap_or(0), u32::try_from(t.tv_nsec).unwrap_or(0))
    };
    let time = |t: u32| -> Result<std::time::Duration> {
        let started = cpu();
        derive("calibration", &salt, &Kdf { alg: "argon2id".into(), m_kib: KDF_NEW_M_KIB, t, p: KDF_P })?;
        Ok(cpu().saturating_sub(started))
    };
    // One pass and three: the difference is the cost of a pass, the rest the fixed cost of
    // setting up the memory, which every derivation pays too.
    let (one, three) = (time(1)?, time(3)?);
    let pass = (three.saturating_sub(one) / 2).max(std::time::Duration::from_micros(100));
    let fixed = one.saturating_sub(pass);
    let want = (KDF_TARGET * 5 / 4).saturating_sub(fixed);
    let t = u32::try_from(want.as_micros().div_ceil(pass.as_micros())).unwrap_or(KDF_MAX_T).clamp(2, KDF_MAX_T);
    Ok(Kdf { alg: "argon2id".into(), m_kib: KDF_NEW_M_KIB, t, p: KDF_P })
}

fn new_key_file(pass: &str, retired: Vec<RetiredKey>) -> Result<ApproverFile> {
    let salt_hex = random_hex(16)?;
    let salt = unhex(&salt_hex).unwrap_or_default();
    let kdf = calibrate_kdf()?;
    let key = derive(pass, &salt, &kdf)?;
    let public = key.verifying_key();
    Ok(ApproverFile { version: 1, key_id: key_id(&public), public_key: hex(&public.to_bytes()), salt: salt_hex, kdf, retired })
}

/// `guard approver init`.
pub fn approver_init(p: &Paths) -> Result<u8> {
    require_terminal("guard approver init")?;
    if load_approver(p)?.is_some() {
        return Err(Error::Usage("guard: an approver key exists already; use `guard approver rotate` to change it".into()));
    }
    let pass = prompt_new_passphrase()?;
    let file = new_key_file(&pass, Vec::new())?;
    write_json(&approver_path(p), &file)?;
    audit(p, "approver-init", json!({"key_id": file.key_id, "public_key": file.public_key}))?;
    println!("guard: approver key {} created; only its public half and salt are stored", file.key_id);
    Ok(0)
}

/// `guard approver rotate`: needs the old passphrase.
pub fn approver_rotate(p: &Paths) -> Result<u8> {
    require_terminal("guard approver rotate")?;
    let Some(old) = load_approver(p)? else {
        return Err(Error::Usage("guard: no approver key yet; run `guard approver init`".into()));
    };
    let pass = prompt_passphrase("Current approver passphrase")?;
    unlock(p, &old, &pass)?;
    let new_pass = prompt_new_passphrase()?;
    let mut retired = old.retired.clone();
    retired.push(RetiredKey { key_id: old.key_id.clone(), public_key: old.public_key.clone() });
    let file = new_key_file(&new_pass, retired)?;
    write_json(&approver_path(p), &file)?;
    audit(p, "approver-rotate", json!({"key_id": file.key_id, "public_key": file.public_key, "retired": old.key_id}))?;
    println!(
        "guard: approver key rotated: {} replaces {} (receipts signed by the old key no longer approve anything)",
        file.key_id, old.key_id
    );
    Ok(0)
}

fn failures_path(p: &Paths) -> PathBuf {
    p.home.join("approver.failures")
}

/// Failed unlocks within this long of the last one count towards the backoff.
const FAILURE_WINDOW_MS: u64 = 3_600_000;
const BACKOFF_MAX_S: u64 = 60;

/// How long to wait before the next try after `n` recent failed unlocks: 1, 2, 4 … 60 s.
fn backoff_secs(n: u64) -> u64 {
    if n == 0 { 0 } else { 1u64.checked_shl(u32::try_from(n - 1).unwrap_or(u32::MAX)).unwrap_or(BACKOFF_MAX_S).min(BACKOFF_MAX_S) }
}

/// Recent failed unlocks: (count, time of the last), none once the window has passed.
fn recent_failures(p: &Paths, now: u64) -> (u64, u64) {
    let v: Option<Value> = std::fs::read(failures_path(p)).ok().and_then(|b| serde_json::from_slice(&b).ok());
    let count = v.as_ref().and_then(|v| v.get("count")).and_then(Value::as_u64).unwrap_or(0);
    let last = v.as_ref().and_then(|v| v.get("last_ms")).and_then(Value::as_u64).unwrap_or(0);
    if now.saturating_sub(last) > FAILURE_WINDOW_MS { (0, 0) } else { (count, last) }
}

/// Re-derives the signing key and checks it is the approver's. Each failure is an audit
/// record, and after failures the next try first waits (1, 2, 4 … 60 s), so guessing through
/// guard costs far more than the derivation's own half second.
fn unlock(p: &Paths, a: &ApproverFile, pass: &str) -> Result<SigningKey> {
    let salt = unhex(&a.salt).ok_or_else(|| Error::Data("guard: approver.json has a bad salt".into()))?;
    let (failed, last) = recent_failures(p, now_millis());
    let wait_until = last.saturating_add(backoff_secs(failed) * 1000);
    let now = now_millis();
    if wait_until > now {
        eprintln!(
            "guard: {failed} failed passphrase attempt(s) recently; waiting {} s before checking this one",
            (wait_until - now).div_ceil(1000)
        );
        std::thread::sleep(std::time::Duration::from_millis(wait_until - now));
    }
    let key = derive(pass, &salt, &a.kdf)?;
    if hex(&key.verifying_key().to_bytes()) != a.public_key {
        let count = recent_failures(p, now_millis()).0 + 1;
        atomic_write(&failures_path(p), json!({"count": count, "last_ms": now_millis()}).to_string().as_bytes())?;
        audit(p, "approver-unlock-failed", json!({"key_id": a.key_id, "recent_failures": count}))?;
        return Err(Error::Blocked(format!(
            "guard: wrong approver passphrase; nothing was approved (failed attempt {count}; the next waits {} s)",
            backoff_secs(count)
        )));
    }
    if failed > 0 {
        let _ = std::fs::remove_file(failures_path(p));
    }
    Ok(key)
}

// ---------------------------------------------------------------- receipts

/// What a receipt says; its canonical JSON (sorted keys) is what gets signed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReceiptPayload {
    /// `approval`, `rejection` or `lease`.
    pub kind: String,
    pub id: String,
    /// The request digest (approvals, rejections); empty for leases.
    #[serde(default)]
    pub digest: String,
    pub key_id: String,
    pub issued_ms: u64,
    pub expires_ms: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scope: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Receipt {
    pub payload: ReceiptPayload,
    pub signature: String,
}

fn signed_bytes(payload: &ReceiptPayload) -> Result<Vec<u8>> {
    let v = serde_json::to_value(payload).map_err(|e| Error::Internal(format!("cannot encode receipt: {e}")))?;
    let canon = serde_json::to_string(&v).map_err(|e| Error::Internal(format!("cannot encode receipt: {e}")))?;
    Ok(format!("{SIGN_DOMAIN}{canon}").into_bytes())
}

fn sign(key: &SigningKey, payload: ReceiptPayload) -> Result<Receipt> {
    let sig = key.sign(&signed_bytes(&payload)?);
    Ok(Receipt { payload, signature: hex(&sig.to_bytes()) })
}

/// Checks a receipt's signature against `key_hex`. `Err` says why it is not valid.
pub fn verify_receipt(r: &Receipt, key_hex: &str) -> std::result::Result<(), String> {
    let key = verifying_key(key_hex).ok_or("the approver public key is malformed")?;
    let sig_bytes: [u8; 64] = unhex(&r.signature).and_then(|b| b.try_into().ok()).ok_or("the signature is malformed")?;
    let sig = Signature::from_bytes(&sig_bytes);
    let msg = signed_bytes(&r.payload).map_err(|e| e.to_string())?;
    key.verify_strict(&msg, &sig).map_err(|_| "the signature does not match (forged or edited receipt)".to_string())
}

/// Which key may have signed a receipt found in the audit log (current or retired).
pub fn key_for(a: &ApproverFile, id: &str) -> Option<String> {
    if a.key_id == id {
        return Some(a.public_key.clone());
    }
    a.retired.iter().find(|k| k.key_id == id).map(|k| k.public_key.clone())
}

// ---------------------------------------------------------------- requests

/// A pending (or decided) escalation, bound to the digest of exactly what would run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestFile {
    pub id: String,
    pub digest: String,
    pub tool: ToolName,
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub target_env: BTreeMap<String, String>,
    pub command: String,
    pub reasons: Vec<(String, String)>,
    pub created_ms: u64,
    pub expires_ms: u64,
}

impl RequestFile {
    fn as_request(&self) -> Request {
        Request { tool: self.tool, argv: self.argv.clone(), cwd: self.cwd.clone(), target_env: self.target_env.clone() }
    }
}

fn request_path(p: &Paths, id: &str) -> PathBuf {
    requests_dir(p).join(format!("{id}.json"))
}
fn receipt_path(p: &Paths, id: &str) -> PathBuf {
    approvals_dir(p).join(format!("{id}.json"))
}
fn used_path(p: &Paths, id: &str) -> PathBuf {
    approvals_dir(p).join(format!("{id}.used"))
}
/// A receipt guard refused (expired, forged, …): its request is dead; the next run makes a new one.
fn refused_path(p: &Paths, id: &str) -> PathBuf {
    approvals_dir(p).join(format!("{id}.refused"))
}

fn valid_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

pub fn list_requests(p: &Paths) -> Result<Vec<RequestFile>> {
    let dir = requests_dir(p);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("cannot read", &dir, e)),
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().is_some_and(|x| x == "json")
            && let Some(r) = read_json::<RequestFile>(&path)?
        {
            out.push(r);
        }
    }
    out.sort_by_key(|r| r.created_ms);
    Ok(out)
}

/// The state of a request, as the agent and `guard requests` see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Pending,
    Approved,
    Rejected(String),
    Used,
    Expired,
}

impl Status {
    pub fn label(&self) -> &str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Rejected(_) => "rejected",
            Status::Used => "used",
            Status::Expired => "expired",
        }
    }
}

fn status(p: &Paths, r: &RequestFile, now: u64) -> Status {
    if used_path(p, &r.id).exists() {
        return Status::Used;
    }
    if refused_path(p, &r.id).exists() {
        return Status::Expired;
    }
    if let Ok(Some(rec)) = read_json::<Receipt>(&receipt_path(p, &r.id)) {
        if rec.payload.kind == "rejection" {
            return Status::Rejected(rec.payload.scope.get("reason").cloned().unwrap_or_default());
        }
        if rec.payload.expires_ms > now {
            return Status::Approved;
        }
        return Status::Expired;
    }
    if r.expires_ms <= now { Status::Expired } else { Status::Pending }
}

// ---------------------------------------------------------------- the check on the hot path

/// Proof that an escalated request may run: a consumed approval or a lease use, for exactly
/// this request digest. Only this module makes one; the gate checks the digest.
#[derive(Debug)]
pub struct Proof {
    digest: String,
    via: String,
}

impl Proof {
    /// The request digest this proof is for.
    pub fn digest(&self) -> &str {
        &self.digest
    }
    /// The approval or lease it came from.
    pub fn via(&self) -> &str {
        &self.via
    }
}

/// What to do with an escalated request.
pub enum Answer {
    Run(Proof),
    /// Still waiting for a human: the message names the approve command.
    Pending(String),
}

fn reasons_of(v: &Verdict) -> Vec<(String, String)> {
    v.reasons.iter().filter(|r| r.decision == Some(Decision::Escalate)).map(|r| (r.rule.clone(), r.message.clone())).collect()
}

/// For an escalated request: a lease that covers it, a valid approval to consume, a rejection,
/// or a (new or reused) pending request. Never called for blocks.
pub fn check(p: &Paths, policy: &Policy, req: &Request, verdict: &Verdict, namespace: Option<&str>) -> Result<Answer> {
    if verdict.decision != Decision::Escalate {
        return Err(Error::Internal("approvals are only for escalations".into()));
    }
    let digest = req.digest();
    let now = now_millis();
    if let Some(proof) = use_lease(p, req, verdict, namespace, &digest, now)? {
        return Ok(Answer::Run(proof));
    }
    p.ensure_home()?;
    let _lock = Lock::exclusive(&state_lock(p))?;
    // The newest live request for this exact digest: decided (use its receipt) or pending (reuse).
    let same: Vec<RequestFile> = list_requests(p)?.into_iter().filter(|r| r.digest == digest).collect();
    for r in same.iter().rev() {
        if used_path(p, &r.id).exists() || refused_path(p, &r.id).exists() {
            continue;
        }
        if let Some(rec) = read_json::<Receipt>(&receipt_path(p, &r.id))? {
            match use_receipt(p, r, rec, &digest, now)? {
                Some(answer) => return Ok(answer),
                None => continue,
            }
        }
        if r.expires_ms > now {
            return Ok(Answer::Pending(pending_message(r, "is still waiting for")));
        }
    }
    let r = new_request(p, policy, req, verdict, &digest, now)?;
    Ok(Answer::Pending(pending_message(&r, "needs")))
}

/// Writes a new pending request for `req` (under the state lock, held by the caller).
fn new_request(p: &Paths, policy: &Policy, req: &Request, verdict: &Verdict, digest: &str, now: u64) -> Result<RequestFile> {
    let r = RequestFile {
        id: format!("r-{}", random_hex(16)?),
        digest: digest.to_string(),
        tool: req.tool,
        argv: req.argv.clone(),
        cwd: req.cwd.clone(),
        target_env: req.target_env.clone(),
        command: crate::display_command(req),
        reasons: reasons_of(verdict),
        created_ms: now,
        expires_ms: now + policy.defaults.request_ttl.millis(),
    };
    write_json(&request_path(p, &r.id), &r)?;
    audit(
        p,
        "request",
        json!({"id": r.id, "digest": r.digest, "command": crate::redact::redact(&r.command), "expires": format_millis(r.expires_ms)}),
    )?;
    Ok(r)
}

/// A request as the agent hooks report it.
pub struct Reported {
    pub id: String,
    pub expires: String,
    /// A human approved it already; the approval waits for guard to run the command.
    pub approved: bool,
}

/// For front ends that only report (the agent hooks): the live request for this exact
/// invocation, reused or made. Never consumes an approval or a lease use: that happens only in
/// [`check`], when guard itself runs the command. A rejection is a block (77).
pub fn request_for(p: &Paths, policy: &Policy, req: &Request, verdict: &Verdict) -> Result<Reported> {
    if verdict.decision != Decision::Escalate {
        return Err(Error::Internal("approvals are only for escalations".into()));
    }
    let digest = req.digest();
    let now = now_millis();
    p.ensure_home()?;
    let _lock = Lock::exclusive(&state_lock(p))?;
    let same: Vec<RequestFile> = list_requests(p)?.into_iter().filter(|r| r.digest == digest).collect();
    for r in same.iter().rev() {
        let approved = match status(p, r, now) {
            Status::Pending => false,
            Status::Approved => true,
            Status::Rejected(reason) => {
                return Err(Error::Blocked(format!(
                    "guard: a human rejected `{}` ({}): {reason}",
                    crate::redact::redact(&r.command),
                    r.id
                )));
            }
            Status::Used | Status::Expired => continue,
        };
        return Ok(Reported { id: r.id.clone(), expires: format_millis(r.expires_ms), approved });
    }
    let r = new_request(p, policy, req, verdict, &digest, now)?;
    Ok(Reported { id: r.id, expires: format_millis(r.expires_ms), approved: false })
}

fn pending_message(r: &RequestFile, verb: &str) -> String {
    let rule = r.reasons.first().map(|(id, m)| format!("{id}: {m}")).unwrap_or_default();
    format!(
        "guard: `{}` {verb} a human approval ({rule}); nothing ran. Ask a human to run `guard approve {}` (expires {}), then run the same command again",
        crate::gate::shorten(&crate::redact::redact(&r.command)),
        r.id,
        format_millis(r.expires_ms)
    )
}

/// Verifies and consumes a receipt for `r` (under the state lock, held by the caller).
/// `Ok(None)`: the receipt no longer applies (a rejection whose time is over).
fn use_receipt(p: &Paths, r: &RequestFile, rec: Receipt, digest: &str, now: u64) -> Result<Option<Answer>> {
    let refuse = |why: String| -> Result<Option<Answer>> {
        let _ = write_json(&refused_path(p, &r.id), &json!({"why": why, "ms": now}));
        let _ = audit(p, "receipt-refused", json!({"id": r.id, "why": why}));
        Err(Error::Blocked(format!(
            "guard: the receipt for {} is refused: {why}; nothing ran. Run the command again to make a new request for a human",
            r.id
        )))
    };
    let Some(approver) = load_approver(p)? else {
        return refuse("there is no approver key, so no receipt can be valid".into());
    };
    if rec.payload.key_id != approver.key_id {
        return refuse(format!("it was not signed by the current approver key ({})", approver.key_id));
    }
    if let Err(why) = verify_receipt(&rec, &approver.public_key) {
        return refuse(why);
    }
    if rec.payload.id != r.id || rec.payload.digest != digest || r.digest != digest {
        return refuse("it was issued for a different request".into());
    }
    if rec.payload.kind == "rejection" {
        if rec.payload.expires_ms <= now {
            let _ = write_json(&refused_path(p, &r.id), &json!({"why": "rejection over", "ms": now}));
            return Ok(None);
        }
        let reason = rec.payload.scope.get("reason").cloned().unwrap_or_else(|| "no reason given".into());
        let _ = audit(p, "rejected-run", json!({"id": r.id}));
        return Err(Error::Blocked(format!("guard: a human rejected `{}` ({}): {reason}", crate::redact::redact(&r.command), r.id)));
    }
    if rec.payload.kind != "approval" {
        return refuse(format!("it is a {} receipt, not an approval", rec.payload.kind));
    }
    if rec.payload.expires_ms <= now {
        return refuse(format!("it expired at {}", format_millis(rec.payload.expires_ms)));
    }
    // Single use: the marker is created exclusively; of two racing re-runs only one wins.
    let marker = used_path(p, &r.id);
    let created = std::fs::OpenOptions::new().write(true).create_new(true).open(&marker);
    if let Err(e) = created {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            return refuse("it was used already (approvals are single-use)".into());
        }
        return Err(Error::io("cannot record the use of", &marker, e));
    }
    crate::state::sync_dir(&approvals_dir(p))?;
    audit(p, "consume", json!({"id": r.id, "digest": digest, "key_id": rec.payload.key_id}))?;
    Ok(Some(Answer::Run(Proof { digest: digest.to_string(), via: r.id.clone() })))
}

/// Runs `check` once, or — with `max_ms` — until it is not pending or time is up.
pub fn wait_for(max_ms: Option<u64>, mut check: impl FnMut() -> Result<Answer>) -> Result<Answer> {
    let deadline = now_millis().saturating_add(max_ms.unwrap_or(0));
    let mut first = true;
    loop {
        match check()? {
            Answer::Pending(msg) if max_ms.is_some() && now_millis() < deadline => {
                if first {
                    eprintln!("{}", crate::display::escape(&msg));
                    eprintln!("guard: waiting for the decision (Ctrl-C stops waiting; the request stays pending)");
                    first = false;
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            other => return Ok(other),
        }
    }
}

// ---------------------------------------------------------------- approve / reject

/// `guard approve <id>` and `guard reject <id>`.
pub fn decide(p: &Paths, policy: &Policy, id: &str, approve: bool, reason: Option<String>) -> Result<u8> {
    let verb = if approve { "approve" } else { "reject" };
    if crate::tools::terraform::is_plan_id(id) {
        return decide_plan(p, policy, id, approve, reason);
    }
    if !valid_id(id, "r-") {
        return Err(Error::Data(format!(
            "guard: {id:?} is not a request id (r-…) or plan id (p-…); `guard requests` and `guard terraform plans` list them"
        )));
    }
    require_terminal(&format!("guard {verb}"))?;
    let Some(approver) = load_approver(p)? else {
        return Err(Error::Blocked("guard: there is no approver key; a human creates one with `guard approver init`".into()));
    };
    let Some(r) = read_json::<RequestFile>(&request_path(p, id))? else {
        return Err(Error::Data(format!("guard: unknown request {id}; `guard requests` lists pending ones")));
    };
    // What is shown is what is signed: the digest is recomputed from the shown fields.
    if r.as_request().digest() != r.digest {
        return Err(Error::Blocked(format!(
            "guard: request {id} was edited after it was made (its digest does not match what it shows); refused"
        )));
    }
    let now = now_millis();
    match status(p, &r, now) {
        Status::Pending => {}
        other => {
            return Err(Error::Data(format!("guard: request {id} is {}, not pending", other.label())));
        }
    }
    // The resolved request, unredacted and escaped, recomputed from the digest's fields.
    crate::review::show(p, policy, &r, now);
    let ttl = if approve {
        policy.defaults.approval_ttl.millis()
    } else {
        r.expires_ms.saturating_sub(now).max(policy.defaults.approval_ttl.millis())
    };
    let Some(receipt) = sign_decision(p, &approver, &r.id, &r.digest, approve, reason, ttl)? else {
        return Ok(1);
    };
    audit(
        p,
        if approve { "approval" } else { "rejection" },
        json!({"id": r.id, "command": crate::redact::redact(&r.command), "receipt": receipt}),
    )?;
    if approve {
        println!(
            "guard: approved {} until {}; the agent's next identical run uses it once",
            r.id,
            format_millis(receipt.payload.expires_ms)
        );
    } else {
        println!("guard: rejected {}", r.id);
    }
    Ok(0)
}

/// Asks for the passphrase, re-derives and checks the key, then asks for a typed `y`/`yes`.
/// `None`: the person did not confirm.
fn unlock_and_confirm(p: &Paths, approver: &ApproverFile, prompt: &str) -> Result<Option<SigningKey>> {
    let pass = prompt_passphrase("Approver passphrase")?;
    let key = unlock(p, approver, &pass)?;
    let confirm: String = dialoguer::Input::new()
        .with_prompt(prompt)
        .allow_empty(true)
        .interact_text()
        .map_err(|e| Error::Usage(format!("guard: cannot read the confirmation: {e}")))?;
    if !matches!(confirm.trim(), "y" | "yes") {
        println!("guard: not confirmed; nothing was signed");
        return Ok(None);
    }
    Ok(Some(key))
}

/// Asks for the passphrase and a typed confirmation, signs the decision and stores the receipt
/// (under the state lock, refusing if the id was decided meanwhile). `None`: not confirmed.
fn sign_decision(
    p: &Paths,
    approver: &ApproverFile,
    id: &str,
    digest: &str,
    approve: bool,
    reason: Option<String>,
    ttl_ms: u64,
) -> Result<Option<Receipt>> {
    let verb = if approve { "approve" } else { "reject" };
    let Some(key) = unlock_and_confirm(p, approver, &format!("Type yes to {verb} {id}"))? else {
        return Ok(None);
    };
    let now = now_millis();
    let mut scope = BTreeMap::new();
    if let Some(reason) = reason.filter(|_| !approve) {
        scope.insert("reason".to_string(), reason);
    }
    let payload = ReceiptPayload {
        kind: if approve { "approval" } else { "rejection" }.into(),
        id: id.to_string(),
        digest: digest.to_string(),
        key_id: approver.key_id.clone(),
        issued_ms: now,
        expires_ms: now + ttl_ms,
        scope,
    };
    let receipt = sign(&key, payload)?;
    let _lock = Lock::exclusive(&state_lock(p))?;
    let path = receipt_path(p, id);
    if path.exists() {
        return Err(Error::Data(format!("guard: {id} was decided meanwhile")));
    }
    write_json(&path, &receipt)?;
    Ok(Some(receipt))
}

/// `guard approve p-…` / `guard reject p-…`: shows the plan, signs its file hash.
fn decide_plan(p: &Paths, policy: &Policy, id: &str, approve: bool, reason: Option<String>) -> Result<u8> {
    let verb = if approve { "approve" } else { "reject" };
    let mut plan = crate::plans::load(p, id)?;
    require_terminal(&format!("guard {verb}"))?;
    let Some(approver) = load_approver(p)? else {
        return Err(Error::Blocked("guard: there is no approver key; a human creates one with `guard approver init`".into()));
    };
    let now = now_millis();
    let status = crate::plans::status(p, &plan, now);
    if status != "pending" {
        return Err(Error::Data(format!("guard: plan {id} is {status}, not waiting for approval")));
    }
    let file_sha = std::fs::read(crate::plans::plan_file(p, id)).ok().map(|b| sha256_hex(&b));
    if file_sha.as_deref() != Some(plan.sha256.as_str()) {
        return Err(Error::Blocked(format!(
            "guard: the plan file of {id} changed since it was planned; refused (terraform.plan-tampered)"
        )));
    }
    let tf = crate::exec::real_tool(crate::policy::ToolName::Terraform, policy)?;
    // What the human sees comes from the plan file and this policy, never from the record.
    match crate::plans::rederive(p, &mut plan, policy, &tf, None) {
        Err((rule, why)) => return Err(Error::Blocked(format!("guard: {why}; refused ({rule})"))),
        Ok(v) if approve && v.decision == Decision::Block => {
            let why = v.headline().map(|r| format!("{}: {}", r.rule, r.message)).unwrap_or_default();
            return Err(Error::Blocked(format!("guard: plan {id} can never be applied ({why}); nothing to approve")));
        }
        Ok(_) => {}
    }
    print!("{}", crate::plans::describe_for_approval(&plan));
    let full: String = dialoguer::Input::new()
        .with_prompt("Show the full `terraform show` of this plan first? [y/N]")
        .allow_empty(true)
        .interact_text()
        .map_err(|e| Error::Usage(format!("guard: cannot read the answer: {e}")))?;
    if matches!(full.trim(), "y" | "yes") {
        crate::review::print_block(&crate::plans::show_text(p, &plan, &tf));
    }
    let ttl = if approve {
        policy.defaults.approval_ttl.millis().min(plan.expires_ms.saturating_sub(now))
    } else {
        plan.expires_ms.saturating_sub(now)
    };
    let Some(receipt) = sign_decision(p, &approver, id, &crate::plans::approval_digest(&plan), approve, reason, ttl)? else {
        return Ok(1);
    };
    audit(p, if approve { "approval" } else { "rejection" }, json!({"id": id, "plan_sha256": plan.sha256, "receipt": receipt}))?;
    if approve {
        println!(
            "guard: approved plan {id} until {}; apply it with `guard terraform apply {id}`",
            format_millis(receipt.payload.expires_ms)
        );
    } else {
        println!("guard: rejected plan {id}");
    }
    Ok(0)
}

/// Whether a plan (or request) has an approval receipt that has not expired.
pub fn has_approval(p: &Paths, id: &str) -> bool {
    read_json::<Receipt>(&receipt_path(p, id))
        .ok()
        .flatten()
        .is_some_and(|r| r.payload.kind == "approval" && r.payload.expires_ms > now_millis())
}

/// For an escalated `terraform apply <plan_id>`: its approval, bound to the plan file's hash,
/// checked and consumed; or the approve command to hand to a human.
pub fn check_plan(p: &Paths, plan: &crate::plans::PlanRecord, request_digest: &str) -> Result<Answer> {
    let Some(rec) = read_json::<Receipt>(&receipt_path(p, &plan.id))? else {
        return Ok(Answer::Pending(format!(
            "guard: plan {} needs a human approval ({}); nothing ran. Ask a human to run `guard approve {}`, then run `guard terraform apply {}` again",
            plan.id,
            plan.reasons.first().map(|(r, m)| format!("{r}: {m}")).unwrap_or_default(),
            plan.id,
            plan.id
        )));
    };
    let refuse = |why: String| Err(Error::Blocked(format!("guard: the approval of plan {} is refused: {why}; nothing ran", plan.id)));
    let Some(approver) = load_approver(p)? else { return refuse("there is no approver key".into()) };
    if rec.payload.key_id != approver.key_id {
        return refuse("it was not signed by the current approver key".into());
    }
    if let Err(why) = verify_receipt(&rec, &approver.public_key) {
        return refuse(why);
    }
    if rec.payload.id != plan.id {
        return refuse("it was given for another plan (terraform.plan-approval)".into());
    }
    if rec.payload.digest != crate::plans::approval_digest(plan) {
        return refuse(if plan.scripts.is_empty() {
            "it was given for another plan (terraform.plan-approval)".into()
        } else {
            "it was given for another plan or for other content of its local-exec scripts (terraform.plan-approval)".into()
        });
    }
    if rec.payload.kind == "rejection" {
        let reason = rec.payload.scope.get("reason").cloned().unwrap_or_else(|| "no reason given".into());
        return Err(Error::Blocked(format!("guard: a human rejected plan {}: {reason}", plan.id)));
    }
    if rec.payload.expires_ms <= now_millis() {
        return refuse(format!("it expired at {}", format_millis(rec.payload.expires_ms)));
    }
    let _lock = Lock::exclusive(&state_lock(p))?;
    let marker = used_path(p, &plan.id);
    if let Err(e) = std::fs::OpenOptions::new().write(true).create_new(true).open(&marker) {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            return refuse("it was used already".into());
        }
        return Err(Error::io("cannot record the use of", &marker, e));
    }
    audit(p, "consume", json!({"id": plan.id, "plan_sha256": plan.sha256}))?;
    Ok(Answer::Run(Proof { digest: request_digest.to_string(), via: plan.id.clone() }))
}

/// `guard requests [--json] [--all]`.
pub fn requests(p: &Paths, json_out: bool, all: bool) -> Result<u8> {
    let now = now_millis();
    for r in list_requests(p)? {
        let st = status(p, &r, now);
        if !all && st != Status::Pending {
            continue;
        }
        if json_out {
            println!(
                "{}",
                json!({"id": r.id, "status": st.label(), "tool": r.tool.as_str(), "command": r.command, "cwd": r.cwd, "rules": r.reasons.iter().map(|x| &x.0).collect::<Vec<_>>(), "created": format_millis(r.created_ms), "expires": format_millis(r.expires_ms), "age_s": now.saturating_sub(r.created_ms) / 1000})
            );
        } else {
            println!(
                "{}  {:<8} {:>5}s  expires {}  {}",
                r.id,
                st.label(),
                now.saturating_sub(r.created_ms) / 1000,
                format_millis(r.expires_ms),
                crate::display::escape(&r.command)
            );
        }
    }
    Ok(0)
}

// ---------------------------------------------------------------- leases

fn lease_path(p: &Paths, id: &str) -> PathBuf {
    leases_dir(p).join(format!("{id}.json"))
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct LeaseUses {
    used: u64,
}

/// `guard lease grant <rule> [--namespace] [--dir] [--ttl] [--uses]`.
/// What a lease covers, as the human asked for it.
pub struct LeaseScope {
    pub rule: String,
    pub namespace: Option<String>,
    /// For kubectl rules: the context (default: the current one). Its cluster server is bound
    /// too, so the lease covers that cluster only, whatever the context name later points at.
    pub context: Option<String>,
    pub dir: Option<PathBuf>,
    pub uses: Option<u64>,
}

/// The context and cluster a kubectl lease is for, resolved from the kubeconfig in force now.
fn lease_kube_target(context: Option<&str>) -> Result<(String, String)> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let env = std::env::var("KUBECONFIG").ok();
    let files = crate::kubeconfig::files(None, env.as_deref(), home.as_deref());
    let f = crate::kubeconfig::resolve(&files, &crate::kubeconfig::Overrides { context, ..Default::default() })
        .map_err(|e| Error::Blocked(format!("guard: a kubectl lease binds a context and its cluster: {e}")))?;
    match (f.context, f.server) {
        (Some(c), Some(s)) => Ok((c, s)),
        (c, _) => Err(Error::Usage(format!(
            "guard: a kubectl lease binds a context and its cluster server, and the kubeconfig has none for {} (name one with --context)",
            c.as_deref().unwrap_or("the current context")
        ))),
    }
}

pub fn lease_grant(p: &Paths, policy: &Policy, scope_in: LeaseScope, ttl: Option<crate::policy::Ttl>) -> Result<u8> {
    let LeaseScope { rule, namespace, context, dir, uses } = scope_in;
    let rule = rule.as_str();
    require_terminal("guard lease grant")?;
    let Some(approver) = load_approver(p)? else {
        return Err(Error::Blocked("guard: there is no approver key; a human creates one with `guard approver init`".into()));
    };
    let ttl = ttl.unwrap_or(crate::policy::Ttl(1800));
    if ttl > policy.defaults.max_lease_ttl {
        return Err(Error::Usage(format!("guard: a lease lasts at most {} (policy max_lease_ttl)", policy.defaults.max_lease_ttl)));
    }
    let dir = dir.map(|d| crate::state::absolute(&d));
    let kube = if rule.starts_with("kubectl.") || namespace.is_some() || context.is_some() {
        Some(lease_kube_target(context.as_deref())?)
    } else {
        None
    };
    println!("Lease for rule {}", crate::display::escape(rule));
    if let Some((c, s)) = &kube {
        println!("  context:   {}", crate::display::escape(c));
        println!("  cluster:   {}", crate::display::escape(s));
    }
    println!("  namespace: {}", crate::display::escape(namespace.as_deref().unwrap_or("(any)")));
    println!("  directory: {}", crate::display::escape(&dir.as_ref().map_or_else(|| "(any)".to_string(), |d| d.display().to_string())));
    println!("  lasts:     {ttl}; uses: {}", uses.map_or_else(|| "unlimited".to_string(), |u| u.to_string()));
    println!("  (a lease turns this rule's escalations into allows in its scope; it never touches a block)");
    let Some(key) = unlock_and_confirm(p, &approver, "Type yes to grant this lease")? else {
        return Ok(1);
    };
    let now = now_millis();
    let id = format!("l-{}", random_hex(16)?);
    let mut scope = BTreeMap::new();
    scope.insert("rule".to_string(), rule.to_string());
    if let Some(n) = &namespace {
        scope.insert("namespace".into(), n.clone());
    }
    if let Some((c, s)) = &kube {
        scope.insert("context".into(), c.clone());
        scope.insert("server".into(), s.clone());
    }
    if let Some(d) = &dir {
        scope.insert("dir".into(), d.to_string_lossy().into_owned());
    }
    if let Some(u) = uses {
        scope.insert("uses".into(), u.to_string());
    }
    let receipt = sign(
        &key,
        ReceiptPayload {
            kind: "lease".into(),
            id: id.clone(),
            digest: String::new(),
            key_id: approver.key_id.clone(),
            issued_ms: now,
            expires_ms: now + ttl.millis(),
            scope,
        },
    )?;
    write_json(&lease_path(p, &id), &receipt)?;
    audit(p, "lease-grant", json!({"id": id, "receipt": receipt}))?;
    println!("guard: lease {id} granted until {}", format_millis(receipt.payload.expires_ms));
    Ok(0)
}

fn list_leases(p: &Paths) -> Vec<Receipt> {
    let Ok(entries) = std::fs::read_dir(leases_dir(p)) else {
        return Vec::new();
    };
    let mut out: Vec<Receipt> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| read_json(&e.path()).ok().flatten())
        .collect();
    out.sort_by_key(|r| r.payload.issued_ms);
    out
}

fn lease_revoked(p: &Paths, id: &str) -> bool {
    leases_dir(p).join(format!("{id}.revoked")).exists()
}

fn lease_uses(p: &Paths, id: &str) -> u64 {
    read_json::<LeaseUses>(&leases_dir(p).join(format!("{id}.uses"))).ok().flatten().map_or(0, |u| u.used)
}

/// `guard lease list`.
pub fn lease_list(p: &Paths, json_out: bool) -> Result<u8> {
    let now = now_millis();
    for l in list_leases(p) {
        let s = &l.payload.scope;
        let state = if lease_revoked(p, &l.payload.id) {
            "revoked"
        } else if l.payload.expires_ms <= now {
            "expired"
        } else {
            "active"
        };
        if json_out {
            println!(
                "{}",
                json!({
                    "id": l.payload.id,
                    "status": state,
                    "rule": s.get("rule"),
                    "namespace": s.get("namespace"),
                    "dir": s.get("dir"),
                    "uses": lease_uses(p, &l.payload.id),
                    "max_uses": s.get("uses").and_then(|u| u.parse::<u64>().ok()),
                    "expires": format_millis(l.payload.expires_ms),
                })
            );
            continue;
        }
        println!(
            "{}  {:<7} rule {}  context {}  cluster {}  namespace {}  dir {}  uses {}/{}  until {}",
            crate::display::escape(&l.payload.id),
            state,
            crate::display::escape(s.get("rule").map_or("?", String::as_str)),
            crate::display::escape(s.get("context").map_or("*", String::as_str)),
            crate::display::escape(s.get("server").map_or("*", String::as_str)),
            crate::display::escape(s.get("namespace").map_or("*", String::as_str)),
            crate::display::escape(s.get("dir").map_or("*", String::as_str)),
            lease_uses(p, &l.payload.id),
            s.get("uses").map_or("∞", String::as_str),
            format_millis(l.payload.expires_ms)
        );
    }
    Ok(0)
}

/// `guard lease revoke <id>`: anyone may make guard stricter, so no passphrase is needed.
pub fn lease_revoke(p: &Paths, id: &str) -> Result<u8> {
    if !valid_id(id, "l-") || !lease_path(p, id).exists() {
        return Err(Error::Data(format!("guard: unknown lease {id}; `guard lease list` shows them")));
    }
    write_json(&leases_dir(p).join(format!("{id}.revoked")), &json!({"revoked_ms": now_millis()}))?;
    audit(p, "lease-revoke", json!({"id": id}))?;
    println!("guard: lease {id} revoked");
    Ok(0)
}

/// A lease covers an escalation when every escalating rule is the lease's rule and the request
/// is in its scope. Uses are counted under the state lock.
fn use_lease(p: &Paths, req: &Request, verdict: &Verdict, namespace: Option<&str>, digest: &str, now: u64) -> Result<Option<Proof>> {
    let leases = list_leases(p);
    if leases.is_empty() {
        return Ok(None);
    }
    let rules: std::collections::BTreeSet<&str> =
        verdict.reasons.iter().filter(|r| r.decision == Some(Decision::Escalate)).map(|r| r.rule.as_str()).collect();
    let Some(approver) = load_approver(p)? else {
        return Ok(None);
    };
    for l in leases {
        let s = &l.payload.scope;
        let kube_lease =
            s.get("rule").is_some_and(|r| r.starts_with("kubectl.")) || s.contains_key("namespace") || req.tool == ToolName::Kubectl;
        let in_scope = l.payload.kind == "lease"
            && l.payload.expires_ms > now
            && !lease_revoked(p, &l.payload.id)
            && l.payload.key_id == approver.key_id
            && rules.len() == 1
            && s.get("rule").is_some_and(|r| rules.contains(r.as_str()))
            && s.get("namespace").is_none_or(|n| namespace == Some(n.as_str()))
            // kubectl leases bind the context and its cluster's server: a lease for `payments`
            // in dev never covers `--context prod-eu`, nor a dev context re-pointed at prod.
            && (!kube_lease || s.get("context").is_some_and(|c| req.target_env.get("kube.context") == Some(c)))
            && (!kube_lease || s.get("server").is_some_and(|c| req.target_env.get("kube.server") == Some(c)))
            && s.get("dir").is_none_or(|d| req.cwd.starts_with(d));
        if !in_scope || verify_receipt(&l, &approver.public_key).is_err() {
            continue;
        }
        let _lock = Lock::exclusive(&state_lock(p))?;
        let used = lease_uses(p, &l.payload.id);
        if s.get("uses").and_then(|u| u.parse::<u64>().ok()).is_some_and(|max| used >= max) {
            continue;
        }
        write_json(&leases_dir(p).join(format!("{}.uses", l.payload.id)), &LeaseUses { used: used + 1 })?;
        audit(
            p,
            "lease-use",
            json!({"lease": l.payload.id, "digest": digest, "command": crate::redact::redact(&crate::display_command(req)), "use": used + 1}),
        )?;
        return Ok(Some(Proof { digest: digest.to_string(), via: l.payload.id.clone() }));
    }
    Ok(None)
}

// ---------------------------------------------------------------- audit and doctor

fn audit(p: &Paths, kind: &str, v: Value) -> Result<()> {
    let Value::Object(m) = v else {
        return Err(Error::Internal("audit record must be an object".into()));
    };
    crate::audit::append(p, kind, m).map(|_| ())
}

/// Checks every receipt found in audit records against the approver keys; `Err` names the line.
pub fn verify_audit_receipts(p: &Paths, records: &[(u64, Map<String, Value>)]) -> Result<usize> {
    let with_receipts: Vec<&(u64, Map<String, Value>)> = records.iter().filter(|(_, r)| r.contains_key("receipt")).collect();
    if with_receipts.is_empty() {
        return Ok(0);
    }
    let Some(approver) = load_approver(p)? else {
        return Err(Error::Data("guard: the audit log holds signed receipts but there is no approver.json to check them with".into()));
    };
    for (line, rec) in &with_receipts {
        let receipt: Receipt = serde_json::from_value(rec.get("receipt").cloned().unwrap_or(Value::Null))
            .map_err(|e| Error::Data(format!("guard: audit line {line}: malformed receipt ({e})")))?;
        let key = key_for(&approver, &receipt.payload.key_id)
            .ok_or_else(|| Error::Data(format!("guard: audit line {line}: receipt signed by unknown key {}", receipt.payload.key_id)))?;
        verify_receipt(&receipt, &key).map_err(|why| Error::Data(format!("guard: audit line {line}: receipt signature invalid: {why}")))?;
    }
    Ok(with_receipts.len())
}

/// Doctor's checks for this module: (name, ok?, warn?, detail).
pub fn doctor_checks(p: &Paths) -> Vec<(&'static str, u8, String)> {
    let mut out = Vec::new();
    match load_approver(p) {
        Ok(Some(a)) => out.push(("approver key", 0, format!("key {} (argon2id m={} KiB t={})", a.key_id, a.kdf.m_kib, a.kdf.t))),
        Ok(None) => {
            out.push(("approver key", 1, "no approver key: `guard approve` refuses until a human runs `guard approver init`".into()))
        }
        Err(e) => out.push(("approver key", 2, e.to_string())),
    }
    match list_requests(p) {
        Ok(reqs) => {
            let now = now_millis();
            let stale = reqs.iter().filter(|r| matches!(status(p, r, now), Status::Expired) && receipt_path(p, &r.id).exists()).count();
            if stale > 20 {
                out.push(("state files", 1, format!("{} requests parse; {stale} approvals expired unused", reqs.len())));
            } else {
                out.push(("state files", 0, format!("{} requests parse", reqs.len())));
            }
        }
        Err(e) => out.push(("state files", 2, e.to_string())),
    }
    // Self-test: sign and verify with a throwaway key; a forged and an edited receipt are refused.
    let self_test = (|| -> std::result::Result<String, String> {
        let seed: [u8; 32] = unhex(&random_hex(32).map_err(|e| e.to_string())?).and_then(|b| b.try_into().ok()).ok_or("no randomness")?;
        let key = SigningKey::from_bytes(&seed);
        let public = hex(&key.verifying_key().to_bytes());
        let payload = ReceiptPayload {
            kind: "approval".into(),
            id: "r-0".into(),
            digest: "d".into(),
            key_id: "k".into(),
            issued_ms: 1,
            expires_ms: 2,
            scope: BTreeMap::new(),
        };
        let good = sign(&key, payload).map_err(|e| e.to_string())?;
        verify_receipt(&good, &public).map_err(|e| format!("a genuine receipt fails: {e}"))?;
        let mut edited = good.clone();
        edited.payload.digest = "other".into();
        if verify_receipt(&edited, &public).is_ok() {
            return Err("an edited receipt verifies".into());
        }
        let forged = Receipt { payload: good.payload.clone(), signature: "00".repeat(64) };
        if verify_receipt(&forged, &public).is_ok() {
            return Err("a forged receipt verifies".into());
        }
        Ok("sign/verify works; edited and forged receipts are refused".into())
    })();
    match self_test {
        Ok(d) => out.push(("self-test: receipts", 0, d)),
        Err(e) => out.push(("self-test: receipts", 2, e)),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passphrases_are_refused() {
        for weak in ["short", "aaaaaaaaaaaaaaaa", "Summer2024!!", "Winter2025!!!", "P@ssw0rd2024!", "qwertyuiop123", "guardapprover1"] {
            assert!(weakness(weak).is_some(), "{weak} passed");
        }
        assert!(weakness("correct horse battery staple").is_none());
        assert!(weakness("Tr0ub4dor&3xyz").is_none());
    }

    #[test]
    fn derived_keys_sign_and_verify() {
        let kdf = Kdf { alg: "argon2id".into(), m_kib: 64, t: 1, p: 1 };
        let key = derive("correct horse battery staple", b"0123456789abcdef", &kdf).unwrap_or_else(|e| unreachable!("{e}"));
        let again = derive("correct horse battery staple", b"0123456789abcdef", &kdf).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(key.to_bytes(), again.to_bytes());
        let public = hex(&key.verifying_key().to_bytes());
        let payload = ReceiptPayload {
            kind: "approval".into(),
            id: "r-1".into(),
            digest: "abc".into(),
            key_id: "k".into(),
            issued_ms: 1,
            expires_ms: 9,
            scope: BTreeMap::new(),
        };
        let r = sign(&key, payload).unwrap_or_else(|e| unreachable!("{e}"));
        assert!(verify_receipt(&r, &public).is_ok());
        let other = derive("another passphrase entirely", b"0123456789abcdef", &kdf).unwrap_or_else(|e| unreachable!("{e}"));
        assert!(verify_receipt(&r, &hex(&other.verifying_key().to_bytes())).is_err());
    }

    #[test]
    fn a_key_made_with_the_old_parameters_still_unlocks_with_them() {
        // Keys from before calibration: 19 MiB, 2 passes, stored in their approver.json.
        let kdf = Kdf { alg: "argon2id".into(), m_kib: 19 * 1024, t: 2, p: 1 };
        let salt_hex = "00112233445566778899aabbccddeeff".to_string();
        let key =
            derive("correct horse battery staple", &unhex(&salt_hex).unwrap_or_default(), &kdf).unwrap_or_else(|e| unreachable!("{e}"));
        let public = key.verifying_key();
        let file = ApproverFile {
            version: 1,
            key_id: key_id(&public),
            public_key: hex(&public.to_bytes()),
            salt: salt_hex,
            kdf,
            retired: Vec::new(),
        };
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let paths = Paths { home: dir.path().to_path_buf(), policy: None };
        assert!(unlock(&paths, &file, "correct horse battery staple").is_ok());
        assert!(unlock(&paths, &file, "correct horse battery stapler").is_err());
        assert_eq!(recent_failures(&paths, now_millis()).0, 1);
        assert_eq!((backoff_secs(0), backoff_secs(1), backoff_secs(3), backoff_secs(40)), (0, 1, 4, BACKOFF_MAX_S));
    }
}
