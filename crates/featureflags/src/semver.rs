//! Semantic versions (semver 2.0 precedence) parsed without allocation, so attribute
//! values can be compared on the evaluation path. A leading `v` and a missing minor or
//! patch are accepted (`v5.2` = `5.2.0`); build metadata is ignored.

use std::cmp::Ordering;

/// A parsed version borrowing its pre-release text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version<'a> {
    /// Major number.
    pub major: u64,
    /// Minor number (0 when omitted).
    pub minor: u64,
    /// Patch number (0 when omitted).
    pub patch: u64,
    /// Dot-separated pre-release identifiers, empty for a release.
    pub pre: &'a str,
}

impl<'a> Version<'a> {
    /// Parses `text`, or `None` when it is not a version.
    pub fn parse(text: &'a str) -> Option<Self> {
        let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
        let text = match text.find('+') {
            Some(i) => {
                let build = &text[i + 1..];
                if !identifiers_valid(build) {
                    return None;
                }
                &text[..i]
            }
            None => text,
        };
        let (core, pre) = match text.find('-') {
            Some(i) => (&text[..i], &text[i + 1..]),
            None => (text, ""),
        };
        if text.len() > core.len() && (!identifiers_valid(pre)) {
            return None;
        }
        let mut numbers = core.split('.');
        let major = number(numbers.next()?)?;
        let minor = numbers.next().map_or(Some(0), number)?;
        let patch = numbers.next().map_or(Some(0), number)?;
        if numbers.next().is_some() {
            return None;
        }
        Some(Version { major, minor, patch, pre })
    }

    /// Semver 2.0 precedence.
    pub fn precedence(&self, other: &Version<'_>) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| compare_pre(self.pre, other.pre))
    }
}

fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn identifiers_valid(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// A release ranks above its pre-releases; identifiers compare numerically when both
/// are numeric, numeric ones rank below alphanumeric ones, and a shorter list of equal
/// identifiers ranks lower.
fn compare_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (numeric(x), numeric(y)) {
                    (true, true) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// Numeric identifiers compare by length then text, which orders digit strings without
/// overflow; leading zeros are stripped first.
fn numeric(id: &str) -> bool {
    id.bytes().all(|b| b.is_ascii_digit())
}

/// An owned version compiled from a config value.
#[derive(Debug, Clone)]
pub struct OwnedVersion {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Box<str>,
}

impl OwnedVersion {
    /// Parses a config value.
    pub fn parse(text: &str) -> Option<Self> {
        let v = Version::parse(text)?;
        Some(OwnedVersion { major: v.major, minor: v.minor, patch: v.patch, pre: v.pre.into() })
    }

    /// The version as text (for explanations).
    pub(crate) fn text(&self) -> String {
        let core = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if self.pre.is_empty() {
            core
        } else {
            format!("{core}-{}", self.pre)
        }
    }

    /// Borrows it as a [`Version`].
    pub fn as_version(&self) -> Version<'_> {
        Version { major: self.major, minor: self.minor, patch: self.patch, pre: &self.pre }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        Version::parse(a).unwrap().precedence(&Version::parse(b).unwrap())
    }

    #[test]
    fn semver_spec_ordering() {
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "2.0.0",
        ];
        for pair in chain.windows(2) {
            assert_eq!(cmp(pair[0], pair[1]), Ordering::Less, "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn lenient_forms() {
        assert_eq!(cmp("v5.2", "5.2.0"), Ordering::Equal);
        assert_eq!(cmp("5", "5.0.0"), Ordering::Equal);
        assert_eq!(cmp("1.0.0+build.7", "1.0.0"), Ordering::Equal);
        assert_eq!(cmp("10.0.0", "9.99.99"), Ordering::Greater);
        for bad in ["", "v", "1..2", "1.2.3.4", "a.b.c", "1.2.3-", "1.2.3-a..b", "1.2.3+", "-1.0.0"] {
            assert!(Version::parse(bad).is_none(), "{bad:?}");
        }
    }
}
