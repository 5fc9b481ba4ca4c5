//! Policy durations: `"30s"`, `"10m"`, `"1h"`, `"8h"`, `"1d"`, or sums like `"1h30m"`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A span of time from the policy, kept in whole seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ttl(pub u64);

impl Ttl {
    pub fn parse(s: &str) -> Result<Ttl, String> {
        let bad = || format!("bad duration {s:?}: use a number and a unit, e.g. \"30s\", \"10m\", \"1h\", \"8h\"");
        if s.is_empty() {
            return Err(bad());
        }
        let mut total: u64 = 0;
        let mut num = String::new();
        for c in s.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                _ => return Err(bad()),
            };
            let n: u64 = num.parse().map_err(|_| bad())?;
            total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
            num.clear();
        }
        if !num.is_empty() || total == 0 {
            return Err(bad());
        }
        Ok(Ttl(total))
    }

    pub fn millis(self) -> u64 {
        self.0.saturating_mul(1000)
    }
}

impl std::fmt::Display for Ttl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.0;
        if s.is_multiple_of(86_400) {
            write!(f, "{}d", s / 86_400)
        } else if s.is_multiple_of(3600) {
            write!(f, "{}h", s / 3600)
        } else if s.is_multiple_of(60) {
            write!(f, "{}m", s / 60)
        } else {
            write!(f, "{s}s")
        }
    }
}

impl<'de> Deserialize<'de> for Ttl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ttl::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Ttl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::Ttl;

    #[test]
    fn parses_the_contract_forms_and_refuses_junk() {
        assert_eq!(Ttl::parse("30s"), Ok(Ttl(30)));
        assert_eq!(Ttl::parse("10m"), Ok(Ttl(600)));
        assert_eq!(Ttl::parse("1h30m"), Ok(Ttl(5400)));
        assert_eq!(Ttl::parse("8h"), Ok(Ttl(28_800)));
        for bad in ["", "10", "m", "1x", "-1h", "0s", "1.5h", "99999999999999999999h"] {
            assert!(Ttl::parse(bad).is_err(), "{bad}");
        }
    }
}
