//! The evaluation context: a user id plus typed attributes.
//!
//! A context is built once and reset per request by hosts on a hot path, so its buffers
//! are kept across [`Context::reset`]: after warm-up, rebuilding a context with the same
//! shape allocates nothing.

use crate::keyindex::{same_bytes, Fingerprint, SHORT};

/// An attribute value as stored in a [`Context`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AttrValue<'a> {
    /// A UTF-8 string.
    Str(&'a str),
    /// A finite number.
    Num(f64),
    /// A boolean.
    Bool(bool),
}

#[derive(Debug)]
enum Stored {
    /// With its fingerprint, worked out once when set rather than by every `in` clause
    /// that reads it.
    Str(String, Fingerprint),
    Num(f64),
    Bool(bool),
}

#[derive(Debug)]
struct Slot {
    name: String,
    print: Fingerprint,
    value: Stored,
}

/// What [`Context::short_string`] finds.
#[derive(Clone, Copy)]
pub(crate) enum ShortString {
    /// No such attribute.
    Absent,
    /// A string of up to [`SHORT`] bytes, by its fingerprint (the string itself).
    Print(Fingerprint),
    /// A longer string, a number or a boolean.
    Other,
}

/// An attribute name that rules read, compiled at load: whether it is the user id and its
/// fingerprint are worked out once, not on every lookup.
#[derive(Debug)]
pub(crate) struct AttrName {
    text: Box<str>,
    print: Fingerprint,
    is_user_id: bool,
}

impl AttrName {
    /// Whether it names the user id, which no slot holds.
    pub(crate) fn is_user_id(&self) -> bool {
        self.is_user_id
    }

    /// Its fingerprint.
    pub(crate) fn print(&self) -> Fingerprint {
        self.print
    }
}

impl From<&str> for AttrName {
    fn from(text: &str) -> Self {
        AttrName { print: Fingerprint::of(text.as_bytes()), is_user_id: is_user_id(text), text: text.into() }
    }
}

impl std::ops::Deref for AttrName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

/// Why a context setter refused a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    /// Numbers must be finite: NaN and infinities compare with nothing.
    #[error("attribute {0:?}: number must be finite")]
    NonFinite(String),
    /// `user_id` is the context's id and only takes a string.
    #[error("attribute \"user_id\" is the context's user id and must be a string")]
    UserIdNotString,
    /// Attribute names are non-empty.
    #[error("attribute name must not be empty")]
    EmptyName,
    /// A user id longer than [`MAX_USER_ID_BYTES`](crate::MAX_USER_ID_BYTES).
    #[error("user_id: {0} bytes; the limit is 1024")]
    UserIdTooLong(usize),
    /// [`Context::set_json`] was given text that is not one JSON value.
    #[error("attribute {0:?}: invalid JSON: {1}")]
    InvalidJson(String, String),
}

/// The user being evaluated. The attribute `user_id` always reads the user id.
#[derive(Debug, Default)]
pub struct Context {
    user_id: String,
    slots: Vec<Slot>,
    len: usize,
    /// Structured values (objects, arrays, null) set by [`Context::set_json`]; kept apart
    /// from `slots` so the scalar lookup on the native evaluation path is unchanged.
    json: Vec<(String, serde_json::Value)>,
}

fn check_user_id(user_id: &str) -> Result<(), ContextError> {
    if user_id.len() > crate::config::MAX_USER_ID_BYTES {
        return Err(ContextError::UserIdTooLong(user_id.len()));
    }
    Ok(())
}

/// The attribute name that reads a context's user id.
pub const USER_ID: &str = "user_id";

/// Whether attribute `name` is the user id: compared without a call, since every
/// lookup and setter asks first.
#[inline(always)]
fn is_user_id(name: &str) -> bool {
    same_bytes(name.as_bytes(), USER_ID.as_bytes())
}

impl Context {
    /// A context for `user_id` with no attributes. It takes any id; the engine does not
    /// enroll or track a user id over [`MAX_USER_ID_BYTES`](crate::MAX_USER_ID_BYTES)
    /// bytes, and [`Context::try_new`] refuses one.
    pub fn new(user_id: &str) -> Self {
        Context { user_id: user_id.to_owned(), slots: Vec::new(), len: 0, json: Vec::new() }
    }

    /// [`Context::new`], refusing a user id over 1,024 bytes.
    pub fn try_new(user_id: &str) -> Result<Self, ContextError> {
        check_user_id(user_id)?;
        Ok(Context::new(user_id))
    }

    /// Starts over for another user, keeping allocated buffers for reuse.
    pub fn reset(&mut self, user_id: &str) {
        self.user_id.clear();
        self.user_id.push_str(user_id);
        self.len = 0;
        self.json.clear();
    }

    /// [`Context::reset`], refusing a user id over 1,024 bytes (the context is unchanged).
    pub fn try_reset(&mut self, user_id: &str) -> Result<(), ContextError> {
        check_user_id(user_id)?;
        self.reset(user_id);
        Ok(())
    }

    /// The user id.
    #[inline]
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// Sets a string attribute; `user_id` replaces the user id (at most 1,024 bytes).
    #[inline]
    pub fn set_string(&mut self, name: &str, value: &str) -> Result<&mut Self, ContextError> {
        if is_user_id(name) {
            check_user_id(value)?;
            self.reset_user_id(value);
            return Ok(self);
        }
        let slot = self.slot(name)?;
        match &mut slot.value {
            Stored::Str(s, print) => {
                s.clear();
                s.push_str(value);
                *print = Fingerprint::of(value.as_bytes());
            }
            other => *other = Stored::Str(value.to_owned(), Fingerprint::of(value.as_bytes())),
        }
        Ok(self)
    }

    /// Sets a number attribute; it must be finite.
    pub fn set_number(&mut self, name: &str, value: f64) -> Result<&mut Self, ContextError> {
        if !value.is_finite() {
            return Err(ContextError::NonFinite(name.to_owned()));
        }
        self.set_scalar(name, Stored::Num(value))
    }

    /// Sets a boolean attribute.
    pub fn set_bool(&mut self, name: &str, value: bool) -> Result<&mut Self, ContextError> {
        self.set_scalar(name, Stored::Bool(value))
    }

    /// Looks an attribute up by name; `user_id` is the user id.
    #[inline]
    pub fn get(&self, name: &str) -> Option<AttrValue<'_>> {
        if is_user_id(name) {
            return Some(AttrValue::Str(&self.user_id));
        }
        self.scalar(name, Fingerprint::of(name.as_bytes())).map(|(value, _)| value)
    }

    /// [`Context::get`] for a name compiled at load.
    #[inline(always)]
    pub(crate) fn get_compiled(&self, name: &AttrName) -> Option<AttrValue<'_>> {
        self.get_compiled_printed(name).map(|(value, _)| value)
    }

    /// [`Context::get_compiled`] with a string's fingerprint (`None` for the user id and
    /// values of other types).
    #[inline(always)]
    pub(crate) fn get_compiled_printed(&self, name: &AttrName) -> Option<(AttrValue<'_>, Option<Fingerprint>)> {
        if name.is_user_id {
            return Some((AttrValue::Str(&self.user_id), None));
        }
        self.scalar(&name.text, name.print)
    }

    /// Scalar attribute `name` (whose fingerprint is `print`) with a string's fingerprint.
    #[inline(always)]
    fn scalar(&self, name: &str, print: Fingerprint) -> Option<(AttrValue<'_>, Option<Fingerprint>)> {
        self.position(name, print).map(|i| match &self.slots[i].value {
            Stored::Str(v, print) => (AttrValue::Str(v), Some(*print)),
            Stored::Num(v) => (AttrValue::Num(*v), None),
            Stored::Bool(v) => (AttrValue::Bool(*v), None),
        })
    }

    /// Attribute `name`, given by its fingerprint, which must be the whole name (a short
    /// one) and not the user id's: as an `in` clause over short strings reads it.
    #[inline(always)]
    pub(crate) fn short_string(&self, name: Fingerprint) -> ShortString {
        match self.slots[..self.len].iter().find(|s| s.print == name) {
            None => ShortString::Absent,
            Some(Slot { value: Stored::Str(v, print), .. }) if v.len() <= SHORT => ShortString::Print(*print),
            Some(_) => ShortString::Other,
        }
    }

    /// The slot of scalar attribute `name`.
    #[inline(always)]
    fn position(&self, name: &str, print: Fingerprint) -> Option<usize> {
        self.slots[..self.len].iter().position(|s| s.print.same(s.name.as_bytes(), print, name.as_bytes()))
    }

    /// Sets a structured attribute from JSON text (an object, array or null; a string,
    /// number or boolean is stored as the matching scalar). flagd targeting reads into it
    /// with dotted `var` paths (`user.name`); native rules see only scalars.
    pub fn set_json(&mut self, name: &str, json: &str) -> Result<&mut Self, ContextError> {
        if name.is_empty() {
            return Err(ContextError::EmptyName);
        }
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| ContextError::InvalidJson(name.to_owned(), e.to_string()))?;
        match value {
            serde_json::Value::String(s) => self.set_string(name, &s),
            serde_json::Value::Bool(b) => self.set_bool(name, b),
            serde_json::Value::Number(n) => self.set_number(name, n.as_f64().unwrap_or(f64::NAN)),
            other => {
                if is_user_id(name) {
                    return Err(ContextError::UserIdNotString);
                }
                // A structured value replaces a scalar of the same name.
                if let Some(i) = self.position(name, Fingerprint::of(name.as_bytes())) {
                    self.slots[i..self.len].rotate_left(1);
                    self.len -= 1;
                }
                match self.json.iter_mut().find(|(n, _)| n == name) {
                    Some(slot) => slot.1 = other,
                    None => self.json.push((name.to_owned(), other)),
                }
                Ok(self)
            }
        }
    }

    /// A structured attribute set by [`Context::set_json`].
    #[inline]
    pub fn get_json(&self, name: &str) -> Option<&serde_json::Value> {
        self.json.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Number of attributes set (the user id excluded).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no attribute is set.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn reset_user_id(&mut self, value: &str) {
        self.user_id.clear();
        self.user_id.push_str(value);
    }

    fn set_scalar(&mut self, name: &str, value: Stored) -> Result<&mut Self, ContextError> {
        if is_user_id(name) {
            return Err(ContextError::UserIdNotString);
        }
        self.slot(name)?.value = value;
        Ok(self)
    }

    /// The slot for `name`: the existing one, a spare one left by `reset`, or a new one.
    #[inline(always)]
    fn slot(&mut self, name: &str) -> Result<&mut Slot, ContextError> {
        if name.is_empty() {
            return Err(ContextError::EmptyName);
        }
        if !self.json.is_empty() {
            self.json.retain(|(n, _)| n != name);
        }
        let print = Fingerprint::of(name.as_bytes());
        if let Some(i) = self.position(name, print) {
            return Ok(&mut self.slots[i]);
        }
        if self.len == self.slots.len() {
            self.slots.push(Slot { name: String::new(), print: Fingerprint::default(), value: Stored::Bool(false) });
        }
        let slot = &mut self.slots[self.len];
        self.len += 1;
        // A context rebuilt after `reset` with the attributes of its last user, in the same
        // order (the usual request loop), finds each name already in place.
        if !slot.print.same(slot.name.as_bytes(), print, name.as_bytes()) {
            slot.name.clear();
            slot.name.push_str(name);
            slot.print = print;
        }
        Ok(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_context_keeps_no_attribute_of_its_last_user() {
        let mut c = Context::new("u1");
        c.set_string("country", "DE").unwrap().set_string("tier", "gold").unwrap();
        c.reset("u2");
        c.set_string("country", "US").unwrap().set_number("tier", 2.0).unwrap();
        assert_eq!((c.get("country"), c.get("tier")), (Some(AttrValue::Str("US")), Some(AttrValue::Num(2.0))));
        c.reset("u3");
        c.set_string("tier", "vip").unwrap().set_string("plan", "pro").unwrap();
        assert_eq!(c.get("country"), None, "a name left in a spare slot is not an attribute");
        assert_eq!((c.get("tier"), c.get("plan")), (Some(AttrValue::Str("vip")), Some(AttrValue::Str("pro"))));
        c.reset("u4");
        assert_eq!((c.get("tier"), c.get("plan"), c.user_id()), (None, None, "u4"));
    }

    #[test]
    fn typed_attributes_and_user_id() {
        let mut c = Context::new("u1");
        c.set_string("country", "DE").unwrap().set_number("age", 31.0).unwrap();
        c.set_bool("beta", true).unwrap();
        assert_eq!(c.get("country"), Some(AttrValue::Str("DE")));
        assert_eq!(c.get("age"), Some(AttrValue::Num(31.0)));
        assert_eq!(c.get("beta"), Some(AttrValue::Bool(true)));
        assert_eq!(c.get("user_id"), Some(AttrValue::Str("u1")));
        assert_eq!(c.get("missing"), None);
        c.set_number("country", 3.0).unwrap();
        assert_eq!(c.get("country"), Some(AttrValue::Num(3.0)));
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn reset_forgets_attributes() {
        let mut c = Context::new("u1");
        c.set_string("country", "DE").unwrap();
        c.reset("u2");
        assert_eq!(c.get("country"), None);
        assert_eq!(c.user_id(), "u2");
        c.set_string("tier", "vip").unwrap();
        assert_eq!(c.get("tier"), Some(AttrValue::Str("vip")));
    }

    #[test]
    fn structured_values_replace_scalars_and_reset() {
        let mut c = Context::new("u1");
        c.set_string("user", "plain").unwrap();
        c.set_json("user", r#"{"name": "jack"}"#).unwrap();
        assert_eq!(c.get("user"), None);
        assert_eq!(c.get_json("user").and_then(|u| u["name"].as_str()), Some("jack"));
        // A JSON scalar is a scalar attribute, and replaces the structured one.
        c.set_json("user", "3").unwrap();
        assert_eq!(c.get("user"), Some(AttrValue::Num(3.0)));
        assert_eq!(c.get_json("user"), None);
        c.set_json("tags", "[1, 2]").unwrap();
        assert!(matches!(c.set_json("x", "{"), Err(ContextError::InvalidJson(..))));
        assert_eq!(c.set_json("user_id", "null").err(), Some(ContextError::UserIdNotString));
        c.reset("u2");
        assert_eq!(c.get_json("tags"), None);
    }

    #[test]
    fn rejects_bad_values() {
        let mut c = Context::new("u1");
        assert!(matches!(c.set_number("x", f64::NAN), Err(ContextError::NonFinite(_))));
        assert!(matches!(c.set_number("x", f64::INFINITY), Err(ContextError::NonFinite(_))));
        assert_eq!(c.set_bool("user_id", true).err(), Some(ContextError::UserIdNotString));
        assert_eq!(c.set_bool("", true).err(), Some(ContextError::EmptyName));
        c.set_string("user_id", "u9").unwrap();
        assert_eq!(c.user_id(), "u9");
    }
}
