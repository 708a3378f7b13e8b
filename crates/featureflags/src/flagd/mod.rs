//! flagd flag definitions (the OpenFeature flag daemon's JSON format): parsed, `$ref`s
//! inlined and targeting compiled once at load, then evaluated with flagd's semantics.
//!
//! Unlike the native format, a flagd document loads flag by flag: a flag whose
//! definition or targeting is invalid is kept as a PARSE_ERROR for that flag alone, as
//! flagd does. See docs/flagd.md.

mod logic;
mod native;
mod ops;

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::context::Context;
use crate::keyindex::KeyIndex;
use logic::{compile, eval, inline_refs, Data, Env, Node, Val};
pub use ops::murmur3_x86_32;

/// Why a flagd evaluation returned what it did (OpenFeature's reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum FlagdReason {
    /// No targeting: the default variant.
    Static = 0,
    /// Targeting named a variant.
    TargetingMatch = 1,
    /// Targeting returned null: the default variant, or the caller's default without one.
    Default = 2,
    /// `state: DISABLED`: the caller's default.
    Disabled = 3,
    /// See the error code; the caller's default.
    Error = 4,
}

impl FlagdReason {
    /// The OpenFeature name (`TARGETING_MATCH`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            FlagdReason::Static => "STATIC",
            FlagdReason::TargetingMatch => "TARGETING_MATCH",
            FlagdReason::Default => "DEFAULT",
            FlagdReason::Disabled => "DISABLED",
            FlagdReason::Error => "ERROR",
        }
    }
}

/// What went wrong when the reason is [`FlagdReason::Error`] (OpenFeature's codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum FlagdErrorCode {
    /// No flag with that key.
    FlagNotFound = 1,
    /// The flag's definition or targeting could not be loaded.
    ParseError = 2,
    /// The value is not of the type asked for.
    TypeMismatch = 3,
    /// Anything else; targeting named a variant the flag does not have.
    General = 4,
}

impl FlagdErrorCode {
    /// The OpenFeature name (`FLAG_NOT_FOUND`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            FlagdErrorCode::FlagNotFound => "FLAG_NOT_FOUND",
            FlagdErrorCode::ParseError => "PARSE_ERROR",
            FlagdErrorCode::TypeMismatch => "TYPE_MISMATCH",
            FlagdErrorCode::General => "GENERAL",
        }
    }
}

/// The type a caller asks a flagd flag for, as OpenFeature's typed evaluations do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagdType {
    /// A JSON boolean.
    Boolean,
    /// A JSON string.
    String,
    /// A JSON number without a fraction.
    Integer,
    /// Any JSON number.
    Float,
    /// A JSON object (or array).
    Object,
}

impl FlagdType {
    fn accepts(self, v: &Value) -> bool {
        match self {
            FlagdType::Boolean => v.is_boolean(),
            FlagdType::String => v.is_string(),
            FlagdType::Integer => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
            FlagdType::Float => v.is_number(),
            FlagdType::Object => v.is_object() || v.is_array(),
        }
    }
}

/// Why a flagd document was refused as a whole (a bad flag only fails that flag).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagdLoadError {
    /// Not JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// Not an object with a `flags` object.
    #[error("not a flagd document: {0}")]
    Shape(String),
    /// The file could not be read.
    #[error("{0}")]
    Io(String),
}

/// What a flagd load installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagdLoaded {
    /// Flags in the document, the invalid ones included.
    pub flags: usize,
    /// The flags that failed to parse (they evaluate to PARSE_ERROR), with why.
    pub invalid: Vec<(String, String)>,
}

#[derive(Debug)]
struct Body {
    enabled: bool,
    variants: Vec<(Box<str>, Value)>,
    default: Option<u32>,
    targeting: Option<Node>,
    /// The targeting translated into native clauses, where its shape allows
    /// (native.rs); `targeting` decides when this is absent or declines.
    program: Option<native::Program>,
}

#[derive(Debug)]
struct FlagdFlag {
    key: Box<str>,
    body: Result<Body, String>,
    /// The flag's metadata over the flag set's.
    metadata: Map<String, Value>,
}

/// A loaded flagd document.
#[derive(Debug, Default)]
pub struct FlagdSet {
    flags: Vec<FlagdFlag>,
    index: KeyIndex,
    metadata: Map<String, Value>,
}

impl FlagdSet {
    /// Parses and compiles a flagd document.
    pub(crate) fn parse(document: &[u8]) -> Result<(FlagdSet, FlagdLoaded), FlagdLoadError> {
        let root: Value = serde_json::from_slice(document).map_err(|e| FlagdLoadError::Json(e.to_string()))?;
        let Value::Object(root) = root else {
            return Err(FlagdLoadError::Shape("the document is not an object".into()));
        };
        let Some(Value::Object(flags)) = root.get("flags") else {
            return Err(FlagdLoadError::Shape("no \"flags\" object".into()));
        };
        let empty = Map::new();
        let evaluators = match root.get("$evaluators") {
            None => &empty,
            Some(Value::Object(m)) => m,
            Some(_) => return Err(FlagdLoadError::Shape("\"$evaluators\" is not an object".into())),
        };
        let metadata = match root.get("metadata") {
            None => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(FlagdLoadError::Shape("\"metadata\" is not an object".into())),
        };
        let mut set = FlagdSet { metadata, ..FlagdSet::default() };
        let mut invalid = Vec::new();
        for (key, def) in flags {
            let body = parse_flag(key, def, evaluators);
            if let Err(e) = &body {
                invalid.push((key.clone(), e.clone()));
            }
            let mut meta = set.metadata.clone();
            if let Some(Value::Object(m)) = def.get("metadata") {
                meta.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            set.flags.push(FlagdFlag { key: key.as_str().into(), body, metadata: meta });
        }
        set.index = KeyIndex::new(set.flags.iter().map(|f| (f.key.as_bytes(), 0)));
        let loaded = FlagdLoaded { flags: set.flags.len(), invalid };
        Ok((set, loaded))
    }

    /// Number of flags.
    pub fn len(&self) -> usize {
        self.flags.len()
    }

    /// True without flags.
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }

    /// The flag set's own metadata (top-level `metadata`).
    pub fn metadata(&self) -> &Map<String, Value> {
        &self.metadata
    }
}

fn parse_flag(key: &str, def: &Value, evaluators: &Map<String, Value>) -> Result<Body, String> {
    let Value::Object(def) = def else { return Err("a flag must be an object".into()) };
    let enabled = match def.get("state") {
        None => true,
        Some(Value::String(s)) if s == "ENABLED" => true,
        Some(Value::String(s)) if s == "DISABLED" => false,
        Some(other) => return Err(format!("state must be \"ENABLED\" or \"DISABLED\", not {other}")),
    };
    let Some(Value::Object(variants)) = def.get("variants") else { return Err("variants must be an object".into()) };
    if variants.is_empty() {
        return Err("variants must not be empty".into());
    }
    let variants: Vec<(Box<str>, Value)> = variants.iter().map(|(k, v)| (k.as_str().into(), v.clone())).collect();
    let default = match def.get("defaultVariant") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(
            variants
                .iter()
                .position(|(k, _)| **k == **name)
                .ok_or_else(|| format!("defaultVariant {name:?} is not a variant"))? as u32,
        ),
        Some(other) => return Err(format!("defaultVariant must be a string or null, not {other}")),
    };
    if let Some(m) = def.get("metadata") {
        let Value::Object(m) = m else { return Err("metadata must be an object".into()) };
        if let Some((k, _)) = m.iter().find(|(_, v)| !(v.is_string() || v.is_number() || v.is_boolean())) {
            return Err(format!("metadata {k:?} must be a string, number or boolean"));
        }
    }
    let targeting = match def.get("targeting") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) if m.is_empty() => None,
        Some(t) => Some(compile(&inline_refs(t, evaluators, 0)?)?),
    };
    let program = targeting.as_ref().and_then(|t| native::translate(t, key, &variants, default));
    Ok(Body { enabled, variants, default, targeting, program })
}

/// The result of a flagd evaluation, holding the document it came from (`S`): an
/// `Arc<FlagdSet>`, so its value and metadata stay valid across reloads
/// ([`Engine::evaluate_flagd`](crate::Engine::evaluate_flagd)), or a borrowed `&FlagdSet`
/// for the duration of a call ([`Engine::evaluate_flagd_with`](crate::Engine::evaluate_flagd_with)).
#[derive(Debug, Clone)]
pub struct FlagdEvaluation<S = Arc<FlagdSet>> {
    set: S,
    flag: Option<u32>,
    variant: Option<u32>,
    reason: FlagdReason,
    error: Option<FlagdErrorCode>,
}

impl<S: Deref<Target = FlagdSet>> FlagdEvaluation<S> {
    /// The resolved value; `None` means the caller's default.
    pub fn value(&self) -> Option<&Value> {
        Some(&self.body()?.variants[self.variant? as usize].1)
    }

    /// The resolved variant's name.
    pub fn variant(&self) -> Option<&str> {
        Some(&self.body()?.variants[self.variant? as usize].0)
    }

    /// Why.
    pub fn reason(&self) -> FlagdReason {
        self.reason
    }

    /// The error code when the reason is [`FlagdReason::Error`].
    pub fn error_code(&self) -> Option<FlagdErrorCode> {
        self.error
    }

    /// The flag's metadata merged over the flag set's (empty for an unknown flag).
    pub fn metadata(&self) -> &Map<String, Value> {
        match self.flag {
            Some(i) => &self.set.flags[i as usize].metadata,
            None => &self.set.metadata,
        }
    }

    /// This evaluation checked against the type the caller asked for: a value of another
    /// type becomes TYPE_MISMATCH with the caller's default.
    pub fn expect(mut self, ty: FlagdType) -> Self {
        if self.value().is_some_and(|v| !ty.accepts(v)) {
            self.variant = None;
            self.reason = FlagdReason::Error;
            self.error = Some(FlagdErrorCode::TypeMismatch);
        }
        self
    }

    fn body(&self) -> Option<&Body> {
        self.set.flags[self.flag? as usize].body.as_ref().ok()
    }
}

/// A decision by indices: (variant, reason, error).
type Decision = (Option<u32>, FlagdReason, Option<FlagdErrorCode>);

/// Evaluates `key` in `set` for `ctx`; `now_s` gives unix seconds for `$flagd.timestamp`.
pub(crate) fn evaluate<S: Deref<Target = FlagdSet>>(
    set: S,
    key: &str,
    ctx: &Context,
    now_s: &dyn Fn() -> i64,
) -> FlagdEvaluation<S> {
    let flag = set.index.get(key.as_bytes(), |i| set.flags[i as usize].key.as_bytes());
    let (variant, reason, error) = match flag {
        None => (None, FlagdReason::Error, Some(FlagdErrorCode::FlagNotFound)),
        Some(i) => decide(&set.flags[i as usize], ctx, now_s),
    };
    FlagdEvaluation { set, flag, variant, reason, error }
}

#[inline]
fn decide(flag: &FlagdFlag, ctx: &Context, now_s: &dyn Fn() -> i64) -> Decision {
    let body = match &flag.body {
        Ok(b) => b,
        Err(_) => return (None, FlagdReason::Error, Some(FlagdErrorCode::ParseError)),
    };
    if !body.enabled {
        return (None, FlagdReason::Disabled, None);
    }
    let Some(targeting) = &body.targeting else {
        // Without a default variant there is nothing static to serve.
        let reason = if body.default.is_some() { FlagdReason::Static } else { FlagdReason::Default };
        return (body.default, reason, None);
    };
    let env = Env { ctx, flag_key: &flag.key, now_s };
    if let Some(decision) = body.program.as_ref().and_then(|p| p.decide(&env)) {
        return decision;
    }
    interpret(body, targeting, &env)
}

/// The decision by the JsonLogic evaluator.
#[inline(never)]
fn interpret(body: &Body, targeting: &Node, env: &Env<'_>) -> Decision {
    let result = eval(targeting, env, Data::Root);
    let name = match &result {
        Val::Null => return (body.default, FlagdReason::Default, None),
        Val::Bool(true) => "true",
        Val::Bool(false) => "false",
        other => match other.as_str() {
            Some(s) => s,
            None => return (None, FlagdReason::Error, Some(FlagdErrorCode::General)),
        },
    };
    match body.variants.iter().position(|(k, _)| **k == *name) {
        Some(v) => (Some(v as u32), FlagdReason::TargetingMatch, None),
        None => (None, FlagdReason::Error, Some(FlagdErrorCode::General)),
    }
}

impl fmt::Display for FlagdReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for FlagdErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod native_tests;
