//! flagd targeting translated at load into the engine's compiled clauses
//! ([`targeting::Clause`]) with the variant of every branch resolved to an index, so a
//! translated flag evaluates as its native twin does: one attribute lookup and one
//! compiled comparison per condition, no JsonLogic values, no variant lookup by name.
//!
//! JsonLogic coerces where native operators do not (`5 == "5"`, `null < 1`, `["a"] ==
//! "a"`). Each translated test therefore carries the attribute types for which the native
//! operator gives exactly the JsonLogic answer (its domain, worked out at load from the
//! same coercion code the evaluator runs). An attribute of another type at evaluation
//! makes the whole flag fall back to the JsonLogic evaluator, which always stays compiled
//! beside the translation: the translation is a shortcut that never changes an answer.
//! The differential test in `tests.rs` checks this over generated contexts.

use std::cmp::Ordering;

use serde_json::Value;

use super::logic::{compare, lookup_root_as, str_to_number, Env, Node, Op, PathKind, Val};
use super::ops::{murmur3_x86_32, Murmur3Prefix};
use super::{Decision, FlagdErrorCode, FlagdReason};
use crate::context::{AttrValue, Context};
use crate::semver::OwnedVersion;
use crate::targeting::{Clause, Op as Native, Scalar, ScalarSet, VersionCmp};

/// Attribute types, as bits of a test's domain.
const STR: u8 = 1;
const NUM: u8 = 2;
const BOOL: u8 = 4;
/// Neither a scalar nor a structured attribute of that name.
const MISSING: u8 = 8;
/// A structured attribute (object, array, null) set with `set_json`.
const JSON: u8 = 16;
const ANY: u8 = STR | NUM | BOOL | MISSING | JSON;

/// A translated flag.
#[derive(Debug)]
pub(super) enum Program {
    /// An `if` chain: the first condition that holds decides, else `otherwise`.
    Rules { rules: Box<[(Cond, Decision)]>, otherwise: Decision },
    /// `fractional` over literal buckets, bucketing on flagKey + targeting key (the
    /// flag key hashed at load) or on a `var`.
    Fractional { key: FractionalKey, cumulative: Box<[u64]>, outcomes: Box<[Decision]>, null: Decision },
}

/// What a translated `fractional` hashes.
#[derive(Debug)]
pub(super) enum FractionalKey {
    /// The flag key (its hash state, `Murmur3Prefix`) followed by the targeting key.
    FlagAndTargetingKey(Murmur3Prefix),
    /// A `var`.
    Var(Box<str>, PathKind),
}

/// A translated condition.
#[derive(Debug)]
pub(super) enum Cond {
    /// A native clause, exact for attributes whose type is in `domain`.
    Test {
        clause: Clause,
        domain: u8,
    },
    All(Box<[Cond]>),
    Any(Box<[Cond]>),
    Not(Box<Cond>),
}

impl Cond {
    /// The condition's truth, or `None` when an attribute's type is outside a test's
    /// domain (the JsonLogic evaluator then decides). Short-circuits where JsonLogic's
    /// `and`/`or` do, so an attribute JsonLogic would not read is not checked either.
    #[inline]
    fn holds(&self, ctx: &Context) -> Option<bool> {
        match self {
            Cond::Test { clause, domain } => {
                let value = ctx.get_compiled(&clause.attr);
                let kind = match value {
                    Some(AttrValue::Str(_)) => STR,
                    Some(AttrValue::Num(_)) => NUM,
                    Some(AttrValue::Bool(_)) => BOOL,
                    None if ctx.get_json(&clause.attr).is_some() => JSON,
                    None => MISSING,
                };
                if domain & kind == 0 {
                    return None;
                }
                Some(clause.matches_value(value))
            }
            Cond::All(parts) => {
                for p in parts.iter() {
                    if !p.holds(ctx)? {
                        return Some(false);
                    }
                }
                Some(true)
            }
            Cond::Any(parts) => {
                for p in parts.iter() {
                    if p.holds(ctx)? {
                        return Some(true);
                    }
                }
                Some(false)
            }
            Cond::Not(inner) => inner.holds(ctx).map(|b| !b),
        }
    }
}

impl Program {
    /// The decision, or `None` when the JsonLogic evaluator must decide.
    #[inline(always)]
    pub(super) fn decide(&self, env: &Env<'_>) -> Option<Decision> {
        match self {
            Program::Rules { rules, otherwise } => {
                for (cond, decision) in rules.iter() {
                    if cond.holds(env.ctx)? {
                        return Some(*decision);
                    }
                }
                Some(*otherwise)
            }
            Program::Fractional { key, cumulative, outcomes, null } => {
                let hash = match key {
                    FractionalKey::FlagAndTargetingKey(prefix) => match env.targeting_key() {
                        Some(k) => prefix.hash(k.as_bytes()),
                        None => return Some(*null),
                    },
                    FractionalKey::Var(path, kind) => match lookup_root_as(env, path, *kind).as_str() {
                        Some(k) => murmur3_x86_32(&[k.as_bytes()], 0),
                        None => return Some(*null),
                    },
                };
                let total = cumulative.last().copied().unwrap_or(0);
                // Weights sum to more than 32 bits in the worst case, as in `fractional`.
                let pick = (u128::from(hash) * u128::from(total)) >> 32;
                Some(match cumulative.iter().position(|&c| pick < u128::from(c)) {
                    Some(i) => outcomes[i],
                    None => *null,
                })
            }
        }
    }
}

/// What the flag decides when targeting returns `result` (as `decide` in mod.rs does
/// with an evaluated result).
pub(super) fn outcome(result: &Value, variants: &[(Box<str>, Value)], default: Option<u32>) -> Decision {
    let name = match result {
        Value::Null => return (default, FlagdReason::Default, None),
        Value::Bool(true) => "true",
        Value::Bool(false) => "false",
        Value::String(s) => s,
        _ => return (None, FlagdReason::Error, Some(FlagdErrorCode::General)),
    };
    match variants.iter().position(|(k, _)| **k == *name) {
        Some(v) => (Some(v as u32), FlagdReason::TargetingMatch, None),
        None => (None, FlagdReason::Error, Some(FlagdErrorCode::General)),
    }
}

/// Translates compiled targeting, or `None` when its shape is not one translated.
pub(super) fn translate(
    node: &Node,
    flag_key: &str,
    variants: &[(Box<str>, Value)],
    default: Option<u32>,
) -> Option<Program> {
    let out = |v: &Value| outcome(v, variants, default);
    match node {
        Node::Op(Op::If, args) => {
            let mut rules = Vec::new();
            let mut args: &[Node] = args;
            let otherwise = loop {
                while let [cond, then, rest @ ..] = args {
                    let Node::Const(then) = then else { return None };
                    rules.push((translate_cond(cond)?, out(then)));
                    args = rest;
                }
                match args {
                    [] => break out(&Value::Null),
                    // An `if` in the else branch continues the chain.
                    [Node::Op(Op::If, inner)] => args = inner,
                    [Node::Const(last)] => break out(last),
                    _ => return None,
                }
            };
            Some(Program::Rules { rules: rules.into(), otherwise })
        }
        Node::FractionalConst { key, names, cumulative } => {
            let key = match key.as_deref() {
                None => FractionalKey::FlagAndTargetingKey(Murmur3Prefix::new(flag_key.as_bytes(), 0)),
                Some(Node::Var { path, kind, default: None }) => FractionalKey::Var(path.clone(), *kind),
                Some(_) => return None,
            };
            let outcomes = names.iter().map(out).collect();
            Some(Program::Fractional { key, cumulative: cumulative.clone(), outcomes, null: out(&Value::Null) })
        }
        // A bare condition whose result is always a boolean names variant "true"/"false".
        other if always_bool(other) => Some(Program::Rules {
            rules: Box::new([(translate_cond(other)?, out(&Value::Bool(true)))]),
            otherwise: out(&Value::Bool(false)),
        }),
        _ => None,
    }
}

/// True when `node` evaluates to a boolean for every context (`starts_with`/`sem_ver`
/// may give null, `and`/`or` one of their operands).
fn always_bool(node: &Node) -> bool {
    match node {
        Node::CompareVar { .. } => true,
        Node::Op(Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::In | Op::Not | Op::NotNot, _) => true,
        Node::Op(Op::And | Op::Or, args) => !args.is_empty() && args.iter().all(always_bool),
        _ => false,
    }
}

/// A literal-path `var` on a plain attribute name.
fn flat_var(node: &Node) -> Option<&str> {
    match node {
        Node::Var { path, kind: PathKind::Flat, default: None } => Some(path),
        _ => None,
    }
}

fn test(attr: &str, op: Native, domain: u8) -> Cond {
    Cond::Test { clause: Clause { attr: attr.into(), op }, domain }
}

fn scalar(v: &Value) -> Option<Scalar> {
    match v {
        Value::String(s) => Some(Scalar::Str(s.as_str().into())),
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()).map(Scalar::Num),
        Value::Bool(b) => Some(Scalar::Bool(*b)),
        _ => None,
    }
}

fn translate_cond(node: &Node) -> Option<Cond> {
    match node {
        Node::CompareVar { op, path, kind: PathKind::Flat, literal } => {
            let (equals, negated) = match op {
                // Loose equality with a string is string equality for strings; a number
                // or boolean is compared with the string's numeric value, which never
                // matches when that is NaN ("US"), as native equality never does.
                Op::Eq | Op::Ne => {
                    let Value::String(s) = literal else { return None };
                    let domain = if str_to_number(s).is_nan() { STR | NUM | BOOL | MISSING } else { STR | MISSING };
                    (test(path, Native::Equals(Scalar::Str(s.as_str().into())), domain), *op == Op::Ne)
                }
                // Strict equality compares like with like, as native equality does.
                _ => (test(path, Native::Equals(scalar(literal)?), ANY), *op == Op::StrictNe),
            };
            Some(if negated { Cond::Not(Box::new(equals)) } else { equals })
        }
        Node::Op(Op::And, args) if !args.is_empty() => {
            Some(Cond::All(args.iter().map(translate_cond).collect::<Option<_>>()?))
        }
        Node::Op(Op::Or, args) if !args.is_empty() => {
            Some(Cond::Any(args.iter().map(translate_cond).collect::<Option<_>>()?))
        }
        Node::Op(Op::Not, args) if args.len() == 1 => Some(Cond::Not(Box::new(translate_cond(&args[0])?))),
        Node::Op(Op::NotNot, args) if args.len() == 1 => translate_cond(&args[0]),
        Node::Op(op @ (Op::Lt | Op::Le | Op::Gt | Op::Ge), args) => match &**args {
            [a, b] => relation(*op, a, b),
            // The between form: a < b < c, b the attribute.
            [Node::Const(_), b, Node::Const(_)] if matches!(op, Op::Lt | Op::Le) => {
                Some(Cond::All(Box::new([relation(*op, &args[0], b)?, relation(*op, b, &args[2])?])))
            }
            _ => None,
        },
        Node::Op(Op::In, args) => match &**args {
            // An attribute in a literal list: strict equality with an element.
            [var, Node::Const(Value::Array(items))] => {
                let attr = flat_var(var)?;
                let items = items.iter().map(scalar).collect::<Option<Vec<_>>>()?;
                Some(test(attr, Native::In(ScalarSet::new(items)), ANY))
            }
            // A literal substring of a string attribute; an array attribute would be
            // searched for an element instead.
            [Node::Const(Value::String(needle)), var] => {
                let attr = flat_var(var)?;
                Some(test(attr, Native::Contains(Box::new([needle.as_str().into()])), STR | NUM | BOOL | MISSING))
            }
            _ => None,
        },
        // flagd gives null (false here) unless both are strings, as native never matches
        // a non-string.
        Node::Op(op @ (Op::StartsWith | Op::EndsWith), args) => match &**args {
            [var, Node::Const(Value::String(fix))] => {
                let fix: Box<[Box<str>]> = Box::new([fix.as_str().into()]);
                let op = if *op == Op::StartsWith { Native::StartsWith(fix) } else { Native::EndsWith(fix) };
                Some(test(flat_var(var)?, op, ANY))
            }
            _ => None,
        },
        // flagd prints a number attribute as a version ("1.2"); native reads strings only.
        Node::Op(Op::SemVer, args) => match &**args {
            [var, Node::Const(Value::String(op)), Node::Const(Value::String(version))] => {
                let cmp = match op.as_str() {
                    "=" => VersionCmp::Eq,
                    "<" => VersionCmp::Lt,
                    "<=" => VersionCmp::Le,
                    ">" => VersionCmp::Gt,
                    ">=" => VersionCmp::Ge,
                    _ => return None,
                };
                let version = OwnedVersion::parse(version)?;
                Some(test(flat_var(var)?, Native::Version(cmp, version), STR | BOOL | MISSING | JSON))
            }
            _ => None,
        },
        _ => None,
    }
}

/// `a op b` with one side an attribute and the other a number literal, as the native
/// numeric comparison. A number attribute compares the same; a missing or boolean one is
/// in the domain only when JsonLogic's coercion (null → 0, true → 1) also gives false.
fn relation(op: Op, a: &Node, b: &Node) -> Option<Cond> {
    let (attr, n, op) = match (a, b) {
        (var, Node::Const(Value::Number(n))) => (flat_var(var)?, n.as_f64()?, op),
        (Node::Const(Value::Number(n)), var) => {
            let flipped = match op {
                Op::Lt => Op::Gt,
                Op::Le => Op::Ge,
                Op::Gt => Op::Lt,
                _ => Op::Le,
            };
            (flat_var(var)?, n.as_f64()?, flipped)
        }
        _ => return None,
    };
    if !n.is_finite() {
        return None;
    }
    let holds = |v: Val<'_>| {
        let o = compare(&v, &Val::Num(n));
        match op {
            Op::Lt => o == Some(Ordering::Less),
            Op::Le => matches!(o, Some(Ordering::Less | Ordering::Equal)),
            Op::Gt => o == Some(Ordering::Greater),
            _ => matches!(o, Some(Ordering::Greater | Ordering::Equal)),
        }
    };
    let mut domain = NUM;
    if !holds(Val::Null) {
        domain |= MISSING;
    }
    if !holds(Val::Bool(true)) && !holds(Val::Bool(false)) {
        domain |= BOOL;
    }
    let native = match op {
        Op::Lt => Native::LessThan(n),
        Op::Le => Native::LessOrEqual(n),
        Op::Gt => Native::GreaterThan(n),
        _ => Native::GreaterOrEqual(n),
    };
    Some(test(attr, native, domain))
}
