//! Compiled targeting conditions and how they match a [`Context`].
//!
//! Everything a clause needs (regexes, versions, instants, sets) is compiled at load, so
//! matching allocates nothing. A clause on a missing attribute or on a value of the wrong
//! type never matches — negated operators included (docs/design.md §3).

use crate::keyindex::{same_bytes, Fingerprint, SHORT};
use regex_automata::dfa::{dense, Automaton};
use regex_automata::Input;

use crate::bucketing::Salt;
use crate::context::{AttrName, AttrValue, Context};
use crate::semver::{OwnedVersion, Version};
use crate::timestamp;

/// A compiled condition.
#[derive(Debug)]
pub enum Condition {
    /// Every part matches (empty: true).
    All(Box<[Condition]>),
    /// Every clause matches: an `all` of nothing but clauses (two or more), checked in
    /// one loop without a call per part.
    Clauses(Box<[Clause]>),
    /// Some part matches (empty: false).
    Any(Box<[Condition]>),
    /// Logical negation.
    Not(Box<Condition>),
    /// A named segment, by index into the snapshot's segments.
    Segment(u32),
    /// A deterministic percentage of bucketing keys.
    Percentage(PercentageGate),
    /// An attribute compared by an operator.
    Clause(Clause),
}

/// `{"percentage": p}`: inside iff `bucket(salt, key) < threshold`.
#[derive(Debug)]
pub struct PercentageGate {
    /// The salt, `<flag salt>.rule.<rule id>` or `segment.<name>`.
    pub salt: Salt,
    /// Exclusive bucket threshold.
    pub threshold: u32,
    /// Segments bucket by user id; flag rules by the flag's bucketing key.
    pub by_user_id: bool,
}

/// `{"attr", "op", "value"}`.
#[derive(Debug)]
pub struct Clause {
    /// Attribute name.
    pub attr: AttrName,
    /// Operator with its compiled operand.
    pub op: Op,
}

/// A scalar operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// String.
    Str(Box<str>),
    /// Finite number.
    Num(f64),
    /// Boolean.
    Bool(bool),
}

/// The most strings an `in` set scans by fingerprint; a larger one is binary-searched.
const SCANNED_SET: usize = 8;

/// A compiled `in` / `not_in` set, split by type so membership compares like with like.
#[derive(Debug, Default)]
pub struct ScalarSet {
    strings: Box<[Box<str>]>,
    /// The strings' fingerprints, in the same order, for a set of at most
    /// [`SCANNED_SET`] strings (empty for a larger one, which is searched).
    prints: Box<[Fingerprint]>,
    numbers: Box<[f64]>,
    has_true: bool,
    has_false: bool,
}

/// Comparison direction of a version operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionCmp {
    /// `version_equals`.
    Eq,
    /// `version_greater_than`.
    Gt,
    /// `version_greater_or_equal`.
    Ge,
    /// `version_less_than`.
    Lt,
    /// `version_less_or_equal`.
    Le,
}

/// An operator and its compiled operand.
#[derive(Debug)]
pub enum Op {
    /// Same type and equal.
    Equals(Scalar),
    /// Same type and different.
    NotEquals(Scalar),
    /// Equal to an element.
    In(ScalarSet),
    /// Of an element's type and equal to none.
    NotIn(ScalarSet),
    /// String containing any needle.
    Contains(Box<[Box<str>]>),
    /// String containing no needle.
    NotContains(Box<[Box<str>]>),
    /// String starting with any prefix.
    StartsWith(Box<[Box<str>]>),
    /// String ending with any suffix.
    EndsWith(Box<[Box<str>]>),
    /// String matching a regex (unanchored, linear time).
    Matches(Box<Matcher>),
    /// Number `>`.
    GreaterThan(f64),
    /// Number `>=`.
    GreaterOrEqual(f64),
    /// Number `<`.
    LessThan(f64),
    /// Number `<=`.
    LessOrEqual(f64),
    /// Number in `[low, high]`.
    Between(f64, f64),
    /// Instant strictly before (unix nanoseconds).
    Before(i128),
    /// Instant strictly after (unix nanoseconds).
    After(i128),
    /// Attribute present.
    Exists,
    /// Attribute absent.
    NotExists,
    /// Semantic version comparison.
    Version(VersionCmp, OwnedVersion),
}

/// A regex compiled to a dense DFA when that fits the size limit (searches then need no
/// cache, so no allocation and no lock), with the `regex` crate as the fallback for
/// patterns whose DFA is too large or that a DFA cannot search (Unicode word boundaries
/// on non-ASCII text).
pub struct Matcher {
    dfa: Option<dense::DFA<Vec<u32>>>,
    fallback: regex::Regex,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Matcher({:?})", self.fallback.as_str())
    }
}

/// Largest DFA compiled per regex; bigger patterns use the fallback engine.
const DFA_SIZE_LIMIT: usize = 1 << 20;
/// Largest accepted regex program (the `regex` crate's compiled size).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl Matcher {
    /// Compiles `pattern`, or returns the regex syntax error.
    pub fn new(pattern: &str) -> Result<Self, String> {
        let fallback = regex::RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| e.to_string().lines().last().unwrap_or("invalid regex").trim().to_owned())?;
        let dfa = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .dfa_size_limit(Some(DFA_SIZE_LIMIT))
                    .determinize_size_limit(Some(DFA_SIZE_LIMIT))
                    .unicode_word_boundary(true),
            )
            .build(pattern)
            .ok();
        Ok(Matcher { dfa, fallback })
    }

    /// The pattern's source (for explanations).
    pub(crate) fn pattern(&self) -> &str {
        self.fallback.as_str()
    }

    /// True when `haystack` contains a match.
    #[inline]
    pub fn is_match(&self, haystack: &str) -> bool {
        if let Some(dfa) = &self.dfa {
            if let Ok(found) = dfa.try_search_fwd(&Input::new(haystack).earliest(true)) {
                return found.is_some();
            }
        }
        self.fallback.is_match(haystack)
    }
}

impl Scalar {
    /// The operand as JSON (for explanations).
    pub(crate) fn to_json(&self) -> serde_json::Value {
        match self {
            Scalar::Str(s) => serde_json::json!(s),
            Scalar::Num(n) => serde_json::json!(n),
            Scalar::Bool(b) => serde_json::json!(b),
        }
    }
}

impl ScalarSet {
    /// The set's elements as a JSON array (for explanations).
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let mut items: Vec<serde_json::Value> = self.strings.iter().map(|s| serde_json::json!(s)).collect();
        items.extend(self.numbers.iter().map(|n| serde_json::json!(n)));
        items.extend(self.has_true.then_some(serde_json::json!(true)));
        items.extend(self.has_false.then_some(serde_json::json!(false)));
        serde_json::Value::Array(items)
    }

    /// Builds a set from scalars.
    pub fn new(items: Vec<Scalar>) -> Self {
        let mut set = ScalarSet::default();
        let mut strings = Vec::new();
        let mut numbers = Vec::new();
        for item in items {
            match item {
                Scalar::Str(s) => strings.push(s),
                Scalar::Num(n) => numbers.push(n),
                Scalar::Bool(true) => set.has_true = true,
                Scalar::Bool(false) => set.has_false = true,
            }
        }
        // Sorted strings allow a binary search; small sets are scanned by fingerprint.
        strings.sort_unstable();
        strings.dedup();
        if strings.len() <= SCANNED_SET {
            set.prints = strings.iter().map(|s| Fingerprint::of(s.as_bytes())).collect();
        }
        set.strings = strings.into();
        set.numbers = numbers.into();
        set
    }

    /// True when the set holds an element of `value`'s type.
    #[inline]
    fn has_type_of(&self, value: AttrValue<'_>) -> bool {
        match value {
            AttrValue::Str(_) => !self.strings.is_empty(),
            AttrValue::Num(_) => !self.numbers.is_empty(),
            AttrValue::Bool(_) => self.has_true || self.has_false,
        }
    }

    #[inline(always)]
    fn contains(&self, value: AttrValue<'_>) -> bool {
        self.contains_printed(value, None)
    }

    /// [`ScalarSet::contains`] with a string value's fingerprint when the context has it.
    #[inline(always)]
    fn contains_printed(&self, value: AttrValue<'_>, print: Option<Fingerprint>) -> bool {
        match value {
            AttrValue::Str(s) if s.len() <= SHORT && !self.prints.is_empty() => {
                // A short value equals an element iff their fingerprints are equal.
                let print = print.unwrap_or_else(|| Fingerprint::of(s.as_bytes()));
                self.prints.contains(&print)
            }
            AttrValue::Str(s) => self.contains_string(s),
            AttrValue::Num(n) => self.contains_number(n),
            AttrValue::Bool(b) => {
                if b {
                    self.has_true
                } else {
                    self.has_false
                }
            }
        }
    }

    #[inline(never)]
    fn contains_string(&self, s: &str) -> bool {
        self.strings.binary_search_by(|x| (**x).cmp(s)).is_ok()
    }

    #[inline(never)]
    fn contains_number(&self, n: f64) -> bool {
        self.numbers.contains(&n)
    }
}

#[inline]
fn scalar_eq(a: &Scalar, b: AttrValue<'_>) -> Option<bool> {
    match (a, b) {
        (Scalar::Str(x), AttrValue::Str(y)) => Some(same_bytes(x.as_bytes(), y.as_bytes())),
        (Scalar::Num(x), AttrValue::Num(y)) => Some(*x == y),
        (Scalar::Bool(x), AttrValue::Bool(y)) => Some(*x == y),
        _ => None,
    }
}

/// Unix nanoseconds of an attribute holding an instant.
#[inline]
fn instant(value: AttrValue<'_>) -> Option<i128> {
    match value {
        AttrValue::Str(s) => timestamp::parse_rfc3339(s),
        AttrValue::Num(n) => timestamp::from_unix_seconds(n),
        AttrValue::Bool(_) => None,
    }
}

impl Clause {
    /// True when the clause matches `ctx`.
    #[inline(always)]
    pub fn matches(&self, ctx: &Context) -> bool {
        // The most used operators are matched here and the rest out of line, which keeps
        // this small enough to inline into the rule loop with few registers to save.
        if let Op::In(set) = &self.op {
            return ctx
                .get_compiled_printed(&self.attr)
                .is_some_and(|(value, print)| set.contains_printed(value, print));
        }
        let value = ctx.get_compiled(&self.attr);
        match (&self.op, value) {
            (Op::Equals(Scalar::Str(x)), Some(AttrValue::Str(y))) => same_bytes(x.as_bytes(), y.as_bytes()),
            _ => self.matches_other(value),
        }
    }

    /// For an `in` clause that [`Context::short_string`] can answer (a short attribute
    /// name other than the user id's, a set of few enough strings to be scanned): the
    /// name's fingerprint and the set's. A short string value is in the set iff its
    /// fingerprint is among them; any other value needs [`Clause::matches`].
    pub(crate) fn short_in(&self) -> Option<(Fingerprint, &[Fingerprint])> {
        match &self.op {
            Op::In(set) if !self.attr.is_user_id() && self.attr.print().is_whole() && !set.prints.is_empty() => {
                Some((self.attr.print(), &set.prints))
            }
            _ => None,
        }
    }

    #[inline(never)]
    fn matches_other(&self, value: Option<AttrValue<'_>>) -> bool {
        self.matches_value(value)
    }

    /// [`Clause::matches`] on the attribute's value already looked up (`None`: absent),
    /// for translated flagd rules, which look it up once to check its type first.
    #[inline(always)]
    pub(crate) fn matches_value(&self, value: Option<AttrValue<'_>>) -> bool {
        let Some(value) = value else {
            return matches!(self.op, Op::NotExists);
        };
        let string = || match value {
            AttrValue::Str(s) => Some(s),
            _ => None,
        };
        let number = || match value {
            AttrValue::Num(n) => Some(n),
            _ => None,
        };
        match &self.op {
            Op::Equals(x) => scalar_eq(x, value) == Some(true),
            Op::NotEquals(x) => scalar_eq(x, value) == Some(false),
            Op::In(set) => set.contains(value),
            Op::NotIn(set) => set.has_type_of(value) && !set.contains(value),
            Op::Contains(needles) => string().is_some_and(|s| needles.iter().any(|n| s.contains(&**n))),
            Op::NotContains(needles) => string().is_some_and(|s| !needles.iter().any(|n| s.contains(&**n))),
            Op::StartsWith(prefixes) => string().is_some_and(|s| prefixes.iter().any(|p| s.starts_with(&**p))),
            Op::EndsWith(suffixes) => string().is_some_and(|s| suffixes.iter().any(|p| s.ends_with(&**p))),
            Op::Matches(m) => string().is_some_and(|s| m.is_match(s)),
            Op::GreaterThan(x) => number().is_some_and(|n| n > *x),
            Op::GreaterOrEqual(x) => number().is_some_and(|n| n >= *x),
            Op::LessThan(x) => number().is_some_and(|n| n < *x),
            Op::LessOrEqual(x) => number().is_some_and(|n| n <= *x),
            Op::Between(lo, hi) => number().is_some_and(|n| *lo <= n && n <= *hi),
            Op::Before(t) => instant(value).is_some_and(|v| v < *t),
            Op::After(t) => instant(value).is_some_and(|v| v > *t),
            Op::Exists => true,
            Op::NotExists => false,
            Op::Version(cmp, wanted) => string().and_then(Version::parse).is_some_and(|v| {
                let ord = v.precedence(&wanted.as_version());
                match cmp {
                    VersionCmp::Eq => ord.is_eq(),
                    VersionCmp::Gt => ord.is_gt(),
                    VersionCmp::Ge => ord.is_ge(),
                    VersionCmp::Lt => ord.is_lt(),
                    VersionCmp::Le => ord.is_le(),
                }
            }),
        }
    }
}

impl Condition {
    /// An `all` of `parts`: [`Condition::Clauses`] when they are two or more clauses.
    pub(crate) fn all(parts: Box<[Condition]>) -> Condition {
        if parts.len() < 2 || !parts.iter().all(|p| matches!(p, Condition::Clause(_))) {
            return Condition::All(parts);
        }
        let clauses = parts
            .into_vec()
            .into_iter()
            .filter_map(|p| match p {
                Condition::Clause(clause) => Some(clause),
                _ => None,
            })
            .collect();
        Condition::Clauses(clauses)
    }

    /// True when the condition holds for `ctx`. `segments` are the snapshot's compiled
    /// segments; `bucketing_key` is the flag's key for percentage gates (None when the
    /// flag's `bucket_by` attribute is missing, so gates do not match).
    #[inline]
    pub fn matches(&self, ctx: &Context, segments: &[Condition], bucketing_key: Option<&str>) -> bool {
        self.matches_with(ctx, segments, || bucketing_key)
    }

    /// The clause this condition is, if it is one.
    #[inline(always)]
    pub(crate) fn clause(&self) -> Option<&Clause> {
        match self {
            Condition::Clause(clause) => Some(clause),
            _ => None,
        }
    }

    /// [`Condition::matches`] with the bucketing key worked out only when a percentage
    /// gate may need it: most rules are clauses, which never do.
    #[inline]
    pub(crate) fn matches_with<'k>(
        &self,
        ctx: &Context,
        segments: &[Condition],
        bucketing_key: impl FnOnce() -> Option<&'k str>,
    ) -> bool {
        match self {
            // Most rules are one clause: checked here, without the composite's frame.
            Condition::Clause(clause) => clause.matches(ctx),
            Condition::Clauses(clauses) => clauses.iter().all(|c| c.matches(ctx)),
            composite => composite.matches_composite(ctx, segments, bucketing_key()),
        }
    }

    #[inline(never)]
    fn matches_composite(&self, ctx: &Context, segments: &[Condition], bucketing_key: Option<&str>) -> bool {
        match self {
            Condition::Clause(clause) => clause.matches(ctx),
            Condition::Clauses(clauses) => clauses.iter().all(|c| c.matches(ctx)),
            Condition::All(parts) => parts.iter().all(|c| c.matches(ctx, segments, bucketing_key)),
            Condition::Any(parts) => parts.iter().any(|c| c.matches(ctx, segments, bucketing_key)),
            Condition::Not(inner) => !inner.matches(ctx, segments, bucketing_key),
            Condition::Segment(index) => {
                segments.get(*index as usize).is_some_and(|s| s.matches(ctx, segments, Some(ctx.user_id())))
            }
            Condition::Percentage(gate) => {
                let key = if gate.by_user_id { Some(ctx.user_id()) } else { bucketing_key };
                key.is_some_and(|k| gate.salt.bucket(k) < gate.threshold)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dfa_and_fallback_agree() {
        for (pattern, hay, expect) in [
            (r"^\d{3}-\d{4}$", "555-1234", true),
            (r"^\d{3}-\d{4}$", "555-12345", false),
            (r"@example\.com$", "a@example.com", true),
            (r"\bfoo\b", "é foo é", true),
            (r"(?i)ios", "iOS 17", true),
        ] {
            let m = Matcher::new(pattern).unwrap();
            assert_eq!(m.is_match(hay), expect, "{pattern} on {hay}");
            assert_eq!(m.fallback.is_match(hay), expect);
        }
        assert!(Matcher::new("(unclosed").is_err());
    }

    /// An `all` of two or more clauses becomes one loop over them and decides as the
    /// general `all` does; anything else in it keeps the general form.
    #[test]
    fn all_of_clauses_decides_as_all() {
        let equals = |attr: &str, v: &str| {
            Condition::Clause(Clause { attr: attr.into(), op: Op::Equals(Scalar::Str(v.into())) })
        };
        let parts = || [equals("country", "US"), equals("tier", "vip"), equals("plan", "pro")];
        let flat = Condition::all(Box::new(parts()));
        assert!(matches!(&flat, Condition::Clauses(c) if c.len() == 3));
        let general = Condition::All(Box::new(parts()));
        for (country, tier, plan) in
            [("US", "vip", "pro"), ("US", "vip", "free"), ("CA", "vip", "pro"), ("US", "std", "pro")]
        {
            let mut ctx = Context::new("u");
            ctx.set_string("country", country)
                .unwrap()
                .set_string("tier", tier)
                .unwrap()
                .set_string("plan", plan)
                .unwrap();
            assert_eq!(flat.matches(&ctx, &[], None), general.matches(&ctx, &[], None), "{country} {tier} {plan}");
        }
        let mixed =
            Condition::all(Box::new([equals("country", "US"), Condition::Not(Box::new(equals("tier", "vip")))]));
        assert!(matches!(mixed, Condition::All(_)));
        assert!(matches!(Condition::all(Box::new([equals("country", "US")])), Condition::All(_)));
    }

    #[test]
    fn sets_and_names_match_by_bytes_at_every_length() {
        // Fingerprints are whole up to 16 bytes; longer strings and names of equal length
        // that differ in one byte must still be told apart.
        let string = |n: usize, last: char| "x".repeat(n.saturating_sub(1)) + &last.to_string();
        for n in 1..40 {
            for set_len in [1, 3, 8, 9, 20] {
                let members: Vec<Scalar> =
                    (0..set_len).map(|i| Scalar::Str(format!("{i}{}", string(n, 'a')).into())).collect();
                let clause = |attr: &str| Clause { attr: attr.into(), op: Op::In(ScalarSet::new(members.clone())) };
                let name_a = string(n, 'a');
                let name_b = string(n, 'b');
                let mut ctx = Context::new("u");
                ctx.set_string(&name_a, &format!("0{}", string(n, 'a'))).unwrap();
                ctx.set_string(&name_b, &format!("0{}", string(n, 'b'))).unwrap();
                assert!(clause(&name_a).matches(&ctx), "n={n} set={set_len}");
                assert!(!clause(&name_b).matches(&ctx), "n={n} set={set_len}: a value one byte off");
                assert!(!clause(&string(n + 1, 'a')).matches(&ctx), "n={n}: a name one byte longer");
            }
        }
    }

    #[test]
    fn typed_comparisons() {
        let mut ctx = Context::new("u");
        ctx.set_string("country", "US").unwrap().set_number("n", 5.0).unwrap();
        let clause = |attr: &str, op| Clause { attr: attr.into(), op };
        assert!(clause("country", Op::Equals(Scalar::Str("US".into()))).matches(&ctx));
        assert!(!clause("n", Op::Equals(Scalar::Str("5".into()))).matches(&ctx));
        assert!(!clause("n", Op::NotEquals(Scalar::Str("5".into()))).matches(&ctx));
        assert!(!clause("missing", Op::NotEquals(Scalar::Str("5".into()))).matches(&ctx));
        assert!(clause("missing", Op::NotExists).matches(&ctx));
        let set = || ScalarSet::new(vec![Scalar::Str("CA".into()), Scalar::Str("GB".into())]);
        assert!(clause("country", Op::NotIn(set())).matches(&ctx));
        assert!(!clause("n", Op::NotIn(set())).matches(&ctx));
    }
}
