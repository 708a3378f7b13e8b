//! JsonLogic compiled once at load into a tree of [`Node`]s and evaluated against a
//! [`Context`]. Values borrow from the tree and the context ([`Val`]), so a rule made of
//! `var`, literals, comparisons and the boolean operators evaluates without allocating;
//! only operators that build new values (`cat`, `merge`, `map`, `missing`, non-literal
//! arrays) allocate their result.
//!
//! Semantics follow json-logic-js, which flagd's evaluators follow: JavaScript truthiness
//! (`[]` is false), `==` with JavaScript's loose coercions, relational operators comparing
//! strings as strings and everything else as numbers.

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::context::{AttrValue, Context};

/// How deep a rule may nest; deeper documents are refused at load rather than risking
/// the evaluator's stack.
const MAX_DEPTH: usize = 64;

/// A compiled JsonLogic expression.
#[derive(Debug)]
pub(crate) enum Node {
    /// A literal: scalar, or an array/object made only of literals.
    Const(Value),
    /// `var` with a literal path; its shape is worked out at load, not per evaluation.
    Var { path: Box<str>, kind: PathKind, default: Option<Box<Node>> },
    /// `var` whose path is computed.
    VarDyn { path: Box<Node>, default: Option<Box<Node>> },
    /// `$flagd.flagKey`.
    FlagKey,
    /// `$flagd.timestamp`.
    Timestamp,
    /// `==`/`!=`/`===`/`!==` between a literal-path `var` (no default) and a scalar
    /// literal, the most common condition, compared without evaluating two sub-nodes.
    CompareVar { op: Op, path: Box<str>, kind: PathKind, literal: Value },
    /// `fractional` whose buckets are all literal: weights summed and accumulated at load.
    /// `key` is the bucketing expression, `None` for flagKey + targeting key.
    FractionalConst { key: Option<Box<Node>>, names: Box<[Value]>, cumulative: Box<[u64]> },
    /// An array whose elements are expressions.
    Array(Box<[Node]>),
    /// An operator and its arguments.
    Op(Op, Box<[Node]>),
}

/// How a literal `var` path reads the context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathKind {
    /// `targetingKey`.
    TargetingKey,
    /// One name: a scalar attribute, else a structured one.
    Flat,
    /// `a.b…`: into a structured attribute, else a flat attribute of that dotted name.
    Dotted,
    /// `""`: the data itself (inside array operators).
    Empty,
}

impl PathKind {
    fn of(path: &str) -> PathKind {
        match path {
            "targetingKey" => PathKind::TargetingKey,
            "" => PathKind::Empty,
            p if p.contains('.') => PathKind::Dotted,
            _ => PathKind::Flat,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    If,
    Eq,
    StrictEq,
    Ne,
    StrictNe,
    Not,
    NotNot,
    Or,
    And,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Cat,
    Substr,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Min,
    Max,
    Merge,
    Map,
    Filter,
    Reduce,
    All,
    Some,
    None,
    Missing,
    MissingSome,
    Fractional,
    SemVer,
    StartsWith,
    EndsWith,
}

impl Op {
    fn from_name(name: &str) -> Option<Op> {
        Some(match name {
            "if" | "?:" => Op::If,
            "==" => Op::Eq,
            "===" => Op::StrictEq,
            "!=" => Op::Ne,
            "!==" => Op::StrictNe,
            "!" => Op::Not,
            "!!" => Op::NotNot,
            "or" => Op::Or,
            "and" => Op::And,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "in" => Op::In,
            "cat" => Op::Cat,
            "substr" => Op::Substr,
            "+" => Op::Add,
            "-" => Op::Sub,
            "*" => Op::Mul,
            "/" => Op::Div,
            "%" => Op::Mod,
            "min" => Op::Min,
            "max" => Op::Max,
            "merge" => Op::Merge,
            "map" => Op::Map,
            "filter" => Op::Filter,
            "reduce" => Op::Reduce,
            "all" => Op::All,
            "some" => Op::Some,
            "none" => Op::None,
            "missing" => Op::Missing,
            "missing_some" => Op::MissingSome,
            "fractional" => Op::Fractional,
            "sem_ver" => Op::SemVer,
            "starts_with" => Op::StartsWith,
            "ends_with" => Op::EndsWith,
            _ => return None,
        })
    }
}

/// Compiles a JsonLogic value (with `$ref`s already inlined).
pub(crate) fn compile(value: &Value) -> Result<Node, String> {
    compile_at(value, 0)
}

fn compile_at(value: &Value, depth: usize) -> Result<Node, String> {
    if depth > MAX_DEPTH {
        return Err(format!("targeting nests deeper than {MAX_DEPTH} levels"));
    }
    match value {
        Value::Array(items) => {
            let nodes = items.iter().map(|v| compile_at(v, depth + 1)).collect::<Result<Vec<_>, _>>()?;
            if nodes.iter().all(|n| matches!(n, Node::Const(_))) {
                Ok(Node::Const(value.clone()))
            } else {
                Ok(Node::Array(nodes.into_boxed_slice()))
            }
        }
        // JsonLogic: only an object with exactly one key is an operation.
        Value::Object(map) if map.len() == 1 => {
            let (name, args) = map.iter().next().expect("one key");
            compile_op(name, args, depth)
        }
        other => Ok(Node::Const(other.clone())),
    }
}

fn compile_op(name: &str, args: &Value, depth: usize) -> Result<Node, String> {
    if name == "var" {
        return compile_var(args, depth);
    }
    let op = Op::from_name(name).ok_or_else(|| format!("unknown operator {name:?}"))?;
    // `{"!": x}` is shorthand for `{"!": [x]}`.
    let args: Vec<Node> = match args {
        Value::Array(items) => items.iter().map(|v| compile_at(v, depth + 1)).collect::<Result<_, _>>()?,
        single => vec![compile_at(single, depth + 1)?],
    };
    if op == Op::Fractional {
        if let Some(node) = super::ops::fractional_const(&args) {
            return Ok(node);
        }
    }
    if let (Op::Eq | Op::Ne | Op::StrictEq | Op::StrictNe, [a, b]) = (op, args.as_slice()) {
        let pair = match (a, b) {
            (Node::Var { path, kind, default: None }, Node::Const(lit))
            | (Node::Const(lit), Node::Var { path, kind, default: None })
                if !lit.is_array() && !lit.is_object() =>
            {
                Some((path.clone(), *kind, lit.clone()))
            }
            _ => None,
        };
        if let Some((path, kind, literal)) = pair {
            return Ok(Node::CompareVar { op, path, kind, literal });
        }
    }
    Ok(Node::Op(op, args.into_boxed_slice()))
}

fn compile_var(args: &Value, depth: usize) -> Result<Node, String> {
    let (path, default) = match args {
        Value::Array(items) => (items.first().cloned().unwrap_or(Value::Null), items.get(1)),
        single => (single.clone(), None),
    };
    let default = default.map(|d| compile_at(d, depth + 1).map(Box::new)).transpose()?;
    let literal = match &path {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    };
    match literal {
        Some(p) if p == "$flagd.flagKey" => Ok(Node::FlagKey),
        Some(p) if p == "$flagd.timestamp" => Ok(Node::Timestamp),
        Some(p) => Ok(Node::Var { kind: PathKind::of(&p), path: p.into_boxed_str(), default }),
        None => Ok(Node::VarDyn { path: Box::new(compile_at(&path, depth + 1)?), default }),
    }
}

/// A value during evaluation, borrowing from the rule tree and the context.
#[derive(Debug, Clone)]
pub(crate) enum Val<'a> {
    Null,
    Bool(bool),
    Num(f64),
    Str(&'a str),
    Owned(String),
    /// An array or object from the context or a literal.
    Json(&'a Value),
    /// An array built during evaluation.
    List(Vec<Val<'a>>),
}

impl<'a> Val<'a> {
    pub(crate) fn from_json(v: &'a Value) -> Val<'a> {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => Val::Num(n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => Val::Str(s),
            other => Val::Json(other),
        }
    }

    fn from_attr(a: AttrValue<'a>) -> Val<'a> {
        match a {
            AttrValue::Str(s) => Val::Str(s),
            AttrValue::Num(n) => Val::Num(n),
            AttrValue::Bool(b) => Val::Bool(b),
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            Val::Owned(s) => Some(s),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    /// The array's length and an accessor, for arrays of either origin.
    fn array_len(&self) -> Option<usize> {
        match self {
            Val::Json(Value::Array(a)) => Some(a.len()),
            Val::List(l) => Some(l.len()),
            _ => None,
        }
    }

    fn item(&self, i: usize) -> Val<'a> {
        match self {
            Val::Json(Value::Array(a)) => a.get(i).map_or(Val::Null, Val::from_json),
            Val::List(l) => l.get(i).cloned().unwrap_or(Val::Null),
            _ => Val::Null,
        }
    }
}

/// JavaScript truthiness, as JsonLogic defines it (`[]` is false, `{}` true).
pub(crate) fn truthy(v: &Val<'_>) -> bool {
    match v {
        Val::Null => false,
        Val::Bool(b) => *b,
        Val::Num(n) => *n != 0.0 && !n.is_nan(),
        Val::Str(s) => !s.is_empty(),
        Val::Owned(s) => !s.is_empty(),
        Val::Json(Value::Array(a)) => !a.is_empty(),
        Val::Json(_) => true,
        Val::List(l) => !l.is_empty(),
    }
}

/// JavaScript `Number(v)`.
fn to_number(v: &Val<'_>) -> f64 {
    match v {
        Val::Null => 0.0,
        Val::Bool(b) => f64::from(u8::from(*b)),
        Val::Num(n) => *n,
        Val::Str(s) => str_to_number(s),
        Val::Owned(s) => str_to_number(s),
        Val::Json(Value::Array(_)) | Val::List(_) => match v.array_len() {
            Some(0) => 0.0,
            Some(1) => to_number(&v.item(0)),
            _ => f64::NAN,
        },
        Val::Json(_) => f64::NAN,
    }
}

pub(crate) fn str_to_number(s: &str) -> f64 {
    let t = s.trim();
    if t.is_empty() {
        return 0.0;
    }
    // Rust accepts "inf"/"nan" spellings JavaScript does not.
    if t.bytes().any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E') && t != "Infinity" && t != "-Infinity" {
        return f64::NAN;
    }
    match t {
        "Infinity" => f64::INFINITY,
        "-Infinity" => f64::NEG_INFINITY,
        _ => t.parse().unwrap_or(f64::NAN),
    }
}

/// JavaScript `String(v)`.
pub(crate) fn write_js_string(out: &mut String, v: &Val<'_>) {
    match v {
        Val::Null => out.push_str("null"),
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::Num(n) => write_js_number(out, *n),
        Val::Str(s) => out.push_str(s),
        Val::Owned(s) => out.push_str(s),
        Val::Json(Value::Object(_)) => out.push_str("[object Object]"),
        Val::Json(_) | Val::List(_) => {
            for i in 0..v.array_len().unwrap_or(0) {
                if i > 0 {
                    out.push(',');
                }
                match v.item(i) {
                    Val::Null => {}
                    item => write_js_string(out, &item),
                }
            }
        }
    }
}

pub(crate) fn write_js_number(out: &mut String, n: f64) {
    if n.is_nan() {
        out.push_str("NaN");
    } else if n.is_infinite() {
        out.push_str(if n > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        let _ = write!(out, "{n}");
    }
}

/// A primitive for comparisons: arrays and objects become their string form.
enum Prim<'v> {
    Null,
    Bool(bool),
    Num(f64),
    Str(std::borrow::Cow<'v, str>),
}

fn to_prim<'v>(v: &'v Val<'_>) -> Prim<'v> {
    match v {
        Val::Null => Prim::Null,
        Val::Bool(b) => Prim::Bool(*b),
        Val::Num(n) => Prim::Num(*n),
        Val::Str(s) => Prim::Str((*s).into()),
        Val::Owned(s) => Prim::Str(s.as_str().into()),
        _ => {
            let mut s = String::new();
            write_js_string(&mut s, v);
            Prim::Str(s.into())
        }
    }
}

fn prim_number(p: &Prim<'_>) -> f64 {
    match p {
        Prim::Null => 0.0,
        Prim::Bool(b) => f64::from(u8::from(*b)),
        Prim::Num(n) => *n,
        Prim::Str(s) => str_to_number(s),
    }
}

/// JavaScript `==`.
fn loose_eq(a: &Val<'_>, b: &Val<'_>) -> bool {
    // The common case, two strings, without the coercion machinery.
    if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
        return x == y;
    }
    let (a_obj, b_obj) = (matches!(a, Val::Json(_) | Val::List(_)), matches!(b, Val::Json(_) | Val::List(_)));
    if a_obj && b_obj {
        // Two objects are equal only when they are the same object.
        return match (a, b) {
            (Val::Json(x), Val::Json(y)) => std::ptr::eq(*x, *y),
            _ => false,
        };
    }
    if (a_obj && b.is_null()) || (b_obj && a.is_null()) {
        return false;
    }
    let (pa, pb) = (to_prim(a), to_prim(b));
    match (&pa, &pb) {
        (Prim::Null, Prim::Null) => true,
        (Prim::Null, _) | (_, Prim::Null) => false,
        (Prim::Str(x), Prim::Str(y)) => x == y,
        (Prim::Bool(x), Prim::Bool(y)) => x == y,
        _ => prim_number(&pa) == prim_number(&pb),
    }
}

/// JavaScript `===`.
fn strict_eq(a: &Val<'_>, b: &Val<'_>) -> bool {
    match (a, b) {
        (Val::Null, Val::Null) => true,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Num(x), Val::Num(y)) => x == y,
        (Val::Json(x), Val::Json(y)) => std::ptr::eq(*x, *y),
        _ => match (a.as_str(), b.as_str()) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

/// JavaScript's abstract relational comparison; `None` when either side is NaN.
pub(crate) fn compare(a: &Val<'_>, b: &Val<'_>) -> Option<Ordering> {
    let (pa, pb) = (to_prim(a), to_prim(b));
    if let (Prim::Str(x), Prim::Str(y)) = (&pa, &pb) {
        // JavaScript compares UTF-16 code units; for BMP text that is code point order.
        return Some(x.as_ref().cmp(y.as_ref()));
    }
    prim_number(&pa).partial_cmp(&prim_number(&pb))
}

/// What a rule runs against: the context and flagd's enrichment.
pub(crate) struct Env<'a> {
    pub ctx: &'a Context,
    pub flag_key: &'a str,
    /// Unix seconds, read only by rules that use `$flagd.timestamp` (a clock read costs
    /// more than most rules).
    pub now_s: &'a dyn Fn() -> i64,
}

impl Env<'_> {
    /// The targeting key: the context's user id, absent when empty.
    pub(crate) fn targeting_key(&self) -> Option<&str> {
        Some(self.ctx.user_id()).filter(|k| !k.is_empty())
    }
}

/// What `var` reads: the context, or inside `map`/`filter`/… the current element.
#[derive(Clone, Copy)]
pub(crate) enum Data<'a, 'b> {
    Root,
    Item(&'b Val<'a>),
    Reduce { current: &'b Val<'a>, accumulator: &'b Val<'a> },
}

fn walk_json<'a>(mut v: &'a Value, segments: std::str::Split<'_, char>) -> Option<&'a Value> {
    for seg in segments {
        v = match v {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

fn walk_val<'a>(v: &Val<'a>, path: &str) -> Val<'a> {
    if path.is_empty() {
        return v.clone();
    }
    let mut segs = path.split('.');
    match v {
        Val::Json(j) => walk_json(j, segs).map_or(Val::Null, Val::from_json),
        Val::List(l) => {
            let Some(item) = segs.next().and_then(|s| s.parse::<usize>().ok()).and_then(|i| l.get(i)) else {
                return Val::Null;
            };
            let rest = &path[path.find('.').map_or(path.len(), |i| i + 1)..];
            walk_val(item, rest)
        }
        _ => Val::Null,
    }
}

fn lookup<'a>(env: &Env<'a>, data: Data<'a, '_>, path: &str) -> Val<'a> {
    match data {
        Data::Root => lookup_root(env, path),
        Data::Item(v) => walk_val(v, path),
        Data::Reduce { current, accumulator } => {
            let (head, rest) = path.split_once('.').unwrap_or((path, ""));
            match head {
                "current" => walk_val(current, rest),
                "accumulator" => walk_val(accumulator, rest),
                _ => Val::Null,
            }
        }
    }
}

fn lookup_root<'a>(env: &Env<'a>, path: &str) -> Val<'a> {
    lookup_root_as(env, path, PathKind::of(path))
}

#[inline]
pub(crate) fn lookup_root_as<'a>(env: &Env<'a>, path: &str, kind: PathKind) -> Val<'a> {
    let ctx = env.ctx;
    match kind {
        PathKind::TargetingKey => {
            if let Some(v) = ctx.get(path) {
                return Val::from_attr(v);
            }
            env.targeting_key().map_or(Val::Null, |_| Val::Str(ctx.user_id()))
        }
        // The whole context is not kept as one JSON object.
        PathKind::Empty => Val::Null,
        PathKind::Flat => match ctx.get(path) {
            Some(v) => Val::from_attr(v),
            None => ctx.get_json(path).map_or(Val::Null, Val::from_json),
        },
        PathKind::Dotted => {
            let (head, rest) = path.split_once('.').unwrap_or((path, ""));
            if let Some(found) = ctx.get_json(head).and_then(|root| walk_json(root, rest.split('.'))) {
                return Val::from_json(found);
            }
            // A native context keeps dotted names flat (`user.name` as one attribute).
            ctx.get(path).map_or(Val::Null, Val::from_attr)
        }
    }
}

/// Evaluates `node`.
pub(crate) fn eval<'a>(node: &'a Node, env: &Env<'a>, data: Data<'a, '_>) -> Val<'a> {
    match node {
        Node::Const(v) => Val::from_json(v),
        Node::Var { path, kind, default } => {
            let v = match data {
                Data::Root => lookup_root_as(env, path, *kind),
                _ => lookup(env, data, path),
            };
            match (v, default) {
                (Val::Null, Some(d)) => eval(d, env, data),
                (v, _) => v,
            }
        }
        Node::VarDyn { path, default } => {
            let p = eval(path, env, data);
            let mut text = String::new();
            match &p {
                Val::Str(_) | Val::Owned(_) | Val::Num(_) => write_js_string(&mut text, &p),
                _ => {}
            }
            match (lookup(env, data, &text), default) {
                (Val::Null, Some(d)) => eval(d, env, data),
                (v, _) => v,
            }
        }
        Node::CompareVar { op, path, kind, literal } => {
            let v = match data {
                Data::Root => lookup_root_as(env, path, *kind),
                _ => lookup(env, data, path),
            };
            // Equality is symmetric, so the literal's side does not matter.
            let lit = Val::from_json(literal);
            Val::Bool(match op {
                Op::Eq => loose_eq(&v, &lit),
                Op::Ne => !loose_eq(&v, &lit),
                Op::StrictEq => strict_eq(&v, &lit),
                _ => !strict_eq(&v, &lit),
            })
        }
        Node::FractionalConst { key, names, cumulative } => {
            super::ops::fractional_pick(key.as_deref(), names, cumulative, env, data)
        }
        Node::FlagKey => Val::Str(env.flag_key),
        Node::Timestamp => Val::Num((env.now_s)() as f64),
        Node::Array(items) => Val::List(items.iter().map(|n| eval(n, env, data)).collect()),
        Node::Op(op, args) => eval_op(*op, args, env, data),
    }
}

fn arg<'a>(args: &'a [Node], i: usize, env: &Env<'a>, data: Data<'a, '_>) -> Val<'a> {
    args.get(i).map_or(Val::Null, |n| eval(n, env, data))
}

fn eval_op<'a>(op: Op, args: &'a [Node], env: &Env<'a>, data: Data<'a, '_>) -> Val<'a> {
    match op {
        Op::If => {
            let mut i = 0;
            while i + 1 < args.len() {
                if truthy(&eval(&args[i], env, data)) {
                    return eval(&args[i + 1], env, data);
                }
                i += 2;
            }
            if i < args.len() {
                eval(&args[i], env, data)
            } else {
                Val::Null
            }
        }
        Op::Eq => Val::Bool(loose_eq(&arg(args, 0, env, data), &arg(args, 1, env, data))),
        Op::Ne => Val::Bool(!loose_eq(&arg(args, 0, env, data), &arg(args, 1, env, data))),
        Op::StrictEq => Val::Bool(strict_eq(&arg(args, 0, env, data), &arg(args, 1, env, data))),
        Op::StrictNe => Val::Bool(!strict_eq(&arg(args, 0, env, data), &arg(args, 1, env, data))),
        Op::Not => Val::Bool(!truthy(&arg(args, 0, env, data))),
        Op::NotNot => Val::Bool(truthy(&arg(args, 0, env, data))),
        Op::Or | Op::And => {
            let mut last = Val::Null;
            for n in args.iter() {
                last = eval(n, env, data);
                if truthy(&last) == (op == Op::Or) {
                    return last;
                }
            }
            last
        }
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            let ok = |o: Option<Ordering>| match op {
                Op::Lt => o == Some(Ordering::Less),
                Op::Le => matches!(o, Some(Ordering::Less | Ordering::Equal)),
                Op::Gt => o == Some(Ordering::Greater),
                _ => matches!(o, Some(Ordering::Greater | Ordering::Equal)),
            };
            let a = arg(args, 0, env, data);
            let b = arg(args, 1, env, data);
            if !ok(compare(&a, &b)) {
                return Val::Bool(false);
            }
            // The between form `{"<": [a, b, c]}` (and `<=`).
            if args.len() == 3 && matches!(op, Op::Lt | Op::Le) {
                let c = arg(args, 2, env, data);
                return Val::Bool(ok(compare(&b, &c)));
            }
            Val::Bool(true)
        }
        Op::In => {
            let needle = arg(args, 0, env, data);
            let hay = arg(args, 1, env, data);
            if let Some(h) = hay.as_str() {
                let found = match needle.as_str() {
                    Some(n) => h.contains(n),
                    None => {
                        let mut n = String::new();
                        write_js_string(&mut n, &needle);
                        h.contains(n.as_str())
                    }
                };
                return Val::Bool(found);
            }
            let len = hay.array_len().unwrap_or(0);
            Val::Bool((0..len).any(|i| strict_eq(&hay.item(i), &needle)))
        }
        Op::Cat => {
            let mut out = String::new();
            for n in args.iter() {
                write_js_string(&mut out, &eval(n, env, data));
            }
            Val::Owned(out)
        }
        Op::Substr => {
            let mut s = String::new();
            write_js_string(&mut s, &arg(args, 0, env, data));
            let chars: Vec<char> = s.chars().collect();
            let n = chars.len() as i64;
            let start = to_number(&arg(args, 1, env, data));
            let start = if start.is_nan() { 0 } else { start as i64 };
            let start = if start < 0 { (n + start).max(0) } else { start.min(n) };
            let end = if args.len() > 2 {
                let len = to_number(&arg(args, 2, env, data));
                let len = if len.is_nan() { 0 } else { len as i64 };
                if len < 0 {
                    (n + len).max(start)
                } else {
                    (start + len).min(n)
                }
            } else {
                n
            };
            Val::Owned(chars[start as usize..end.max(start) as usize].iter().collect())
        }
        Op::Add => Val::Num(args.iter().map(|n| to_number(&eval(n, env, data))).sum()),
        Op::Mul => Val::Num(args.iter().map(|n| to_number(&eval(n, env, data))).product()),
        Op::Sub => {
            let a = to_number(&arg(args, 0, env, data));
            if args.len() == 1 {
                Val::Num(-a)
            } else {
                Val::Num(a - to_number(&arg(args, 1, env, data)))
            }
        }
        Op::Div => Val::Num(to_number(&arg(args, 0, env, data)) / to_number(&arg(args, 1, env, data))),
        Op::Mod => Val::Num(to_number(&arg(args, 0, env, data)) % to_number(&arg(args, 1, env, data))),
        Op::Min | Op::Max => {
            let mut acc: Option<f64> = None;
            for n in args.iter() {
                let x = to_number(&eval(n, env, data));
                acc = Some(match acc {
                    None => x,
                    Some(a) if a.is_nan() || x.is_nan() => f64::NAN,
                    Some(a) => {
                        if op == Op::Min {
                            a.min(x)
                        } else {
                            a.max(x)
                        }
                    }
                });
            }
            acc.map_or(Val::Null, Val::Num)
        }
        Op::Merge => {
            let mut out = Vec::new();
            for n in args.iter() {
                let v = eval(n, env, data);
                match v.array_len() {
                    Some(len) => match v {
                        Val::List(l) => out.extend(l),
                        Val::Json(Value::Array(a)) => out.extend(a.iter().map(Val::from_json)),
                        _ => debug_assert!(len == 0),
                    },
                    None => out.push(v),
                }
            }
            Val::List(out)
        }
        Op::Map | Op::Filter | Op::All | Op::Some | Op::None => {
            let list = arg(args, 0, env, data);
            let len = list.array_len().unwrap_or(0);
            let Some(logic) = args.get(1) else { return Val::Null };
            let mut out = Vec::new();
            for i in 0..len {
                let item = list.item(i);
                let r = eval(logic, env, Data::Item(&item));
                match op {
                    Op::Map => out.push(r),
                    Op::Filter if truthy(&r) => out.push(item),
                    Op::All if !truthy(&r) => return Val::Bool(false),
                    Op::Some if truthy(&r) => return Val::Bool(true),
                    Op::None if truthy(&r) => return Val::Bool(false),
                    _ => {}
                }
            }
            match op {
                Op::Map | Op::Filter => Val::List(out),
                Op::All => Val::Bool(len > 0),
                Op::Some => Val::Bool(false),
                _ => Val::Bool(true),
            }
        }
        Op::Reduce => {
            let list = arg(args, 0, env, data);
            let mut acc = arg(args, 2, env, data);
            let Some(logic) = args.get(1) else { return acc };
            for i in 0..list.array_len().unwrap_or(0) {
                let current = list.item(i);
                acc = eval(logic, env, Data::Reduce { current: &current, accumulator: &acc });
            }
            acc
        }
        Op::Missing => {
            let mut keys = Vec::new();
            collect_keys(args, env, data, &mut keys);
            Val::List(missing(env, data, keys))
        }
        Op::MissingSome => {
            let need = to_number(&arg(args, 0, env, data));
            let mut keys = Vec::new();
            if let Some(n) = args.get(1) {
                collect_keys(std::slice::from_ref(n), env, data, &mut keys);
            }
            let total = keys.len();
            let absent = missing(env, data, keys);
            if (total - absent.len()) as f64 >= need {
                Val::List(Vec::new())
            } else {
                Val::List(absent)
            }
        }
        Op::Fractional => super::ops::fractional(args, env, data),
        Op::SemVer => super::ops::sem_ver(args, env, data),
        Op::StartsWith | Op::EndsWith => super::ops::affix(op == Op::StartsWith, args, env, data),
    }
}

fn collect_keys<'a>(args: &'a [Node], env: &Env<'a>, data: Data<'a, '_>, keys: &mut Vec<String>) {
    for n in args {
        let v = eval(n, env, data);
        if let Some(len) = v.array_len() {
            for i in 0..len {
                let mut s = String::new();
                write_js_string(&mut s, &v.item(i));
                keys.push(s);
            }
        } else {
            let mut s = String::new();
            write_js_string(&mut s, &v);
            keys.push(s);
        }
    }
}

fn missing<'a>(env: &Env<'a>, data: Data<'a, '_>, keys: Vec<String>) -> Vec<Val<'a>> {
    keys.into_iter()
        .filter(|k| {
            let v = lookup(env, data, k);
            v.is_null() || v.as_str() == Some("")
        })
        .map(Val::Owned)
        .collect()
}

/// A JSON value for a result that leaves the evaluator (tests, diagnostics).
#[cfg(test)]
pub(crate) fn to_json(v: &Val<'_>) -> Value {
    match v {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(*b),
        Val::Num(n) if n.fract() == 0.0 && n.abs() < 9e15 => Value::from(*n as i64),
        Val::Num(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
        Val::Str(s) => Value::String((*s).to_owned()),
        Val::Owned(s) => Value::String(s.clone()),
        Val::Json(j) => (*j).clone(),
        Val::List(l) => Value::Array(l.iter().map(to_json).collect()),
    }
}

/// Inlines every `{"$ref": name}` from `evaluators`, recursively (a `$ref` inside an
/// evaluator is resolved too); a missing name or a cycle is an error.
pub(crate) fn inline_refs(value: &Value, evaluators: &Map<String, Value>, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err("$ref chain too deep (a cycle?)".to_owned());
    }
    match value {
        Value::Object(m) if m.len() == 1 && m.contains_key("$ref") => {
            let name = m["$ref"].as_str().ok_or("$ref must name an evaluator")?;
            let target = evaluators.get(name).ok_or_else(|| format!("$ref to unknown evaluator {name:?}"))?;
            inline_refs(target, evaluators, depth + 1)
        }
        Value::Object(m) => {
            let mut out = Map::with_capacity(m.len());
            for (k, v) in m {
                out.insert(k.clone(), inline_refs(v, evaluators, depth + 1)?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(a) => {
            Ok(Value::Array(a.iter().map(|v| inline_refs(v, evaluators, depth + 1)).collect::<Result<_, _>>()?))
        }
        other => Ok(other.clone()),
    }
}
