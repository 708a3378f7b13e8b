//! flagd's custom JsonLogic operators: `fractional` (its "v2" bucketing), `sem_ver`,
//! `starts_with` and `ends_with`. Each returns null on bad input, as flagd's do, so a
//! broken rule falls back to the default variant instead of naming a variant `false`.

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde_json::Value;

use super::logic::{eval, Data, Env, Node, Val};
use crate::semver::Version;

/// MurmurHash3 x86_32 with `seed` over the concatenation of `parts`: flagd's `fractional`
/// hash (seed 0). Taking parts lets the default bucketing value (`flagKey` + targeting
/// key) be hashed without building the string.
pub fn murmur3_x86_32(parts: &[&[u8]], seed: u32) -> u32 {
    let mut state = Murmur3Prefix::new(&[], seed);
    for part in parts {
        state.update(part);
    }
    state.finish()
}

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

#[inline(always)]
fn mix(k: u32) -> u32 {
    k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2)
}

#[inline(always)]
fn block(h: u32, k: u32) -> u32 {
    (h ^ mix(k)).rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64)
}

#[inline(always)]
fn le_word(c: &[u8]) -> u32 {
    u32::from_le_bytes([c[0], c[1], c[2], c[3]])
}

/// MurmurHash3 x86_32 part-way: the state after the bytes so far. A `fractional` flag's
/// key is hashed at load, so each evaluation hashes only the targeting key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Murmur3Prefix {
    h: u32,
    /// The last `carried` bytes, not yet a whole block; the bytes after them are zero.
    carry: [u8; 4],
    carried: usize,
    len: usize,
}

impl Murmur3Prefix {
    pub(crate) fn new(prefix: &[u8], seed: u32) -> Self {
        let mut state = Murmur3Prefix { h: seed, carry: [0; 4], carried: 0, len: 0 };
        state.update(prefix);
        state
    }

    /// The hash of the prefix followed by `rest`: `murmur3_x86_32(&[prefix, rest], seed)`.
    #[inline]
    pub(crate) fn hash(&self, rest: &[u8]) -> u32 {
        let mut state = *self;
        state.update(rest);
        state.finish()
    }

    #[inline(always)]
    fn update(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len();
        if self.carried > 0 {
            if bytes.len() >= 4 {
                // The carried bytes and the first of `bytes` make a block; one load, no copy.
                let block_bytes = u32::from_le_bytes(self.carry) | (le_word(bytes) << (8 * self.carried));
                self.h = block(self.h, block_bytes);
                bytes = &bytes[4 - self.carried..];
            } else {
                for &b in bytes {
                    self.carry[self.carried] = b;
                    self.carried += 1;
                    if self.carried == 4 {
                        self.h = block(self.h, u32::from_le_bytes(self.carry));
                        self.carried = 0;
                        self.carry = [0; 4];
                    }
                }
                return;
            }
        }
        let mut chunks = bytes.chunks_exact(4);
        for c in &mut chunks {
            self.h = block(self.h, le_word(c));
        }
        let tail = chunks.remainder();
        self.carry = [0; 4];
        self.carry[..tail.len()].copy_from_slice(tail);
        self.carried = tail.len();
    }

    #[inline(always)]
    fn finish(&self) -> u32 {
        let mut h = self.h;
        if self.carried > 0 {
            h ^= mix(u32::from_le_bytes(self.carry));
        }
        h ^= self.len as u32;
        h ^= h >> 16;
        h = h.wrapping_mul(0x85eb_ca6b);
        h ^= h >> 13;
        h = h.wrapping_mul(0xc2b2_ae35);
        h ^ (h >> 16)
    }
}

fn is_bucket(node: &Node) -> bool {
    matches!(node, Node::Array(_) | Node::Const(Value::Array(_)))
}

/// A weight: integers, fractions truncated, negatives clamped to 0; a missing weight is 1.
fn weight<'a>(bucket: &'a Node, env: &Env<'a>, data: Data<'a, '_>) -> Option<u64> {
    let w = match bucket {
        Node::Const(Value::Array(items)) => match items.get(1) {
            None => return Some(1),
            Some(v) => v.as_f64()?,
        },
        Node::Array(items) => match items.get(1) {
            None => return Some(1),
            Some(n) => match eval(n, env, data) {
                Val::Num(x) => x,
                _ => return None,
            },
        },
        _ => return None,
    };
    if w.is_nan() {
        return None;
    }
    Some(if w <= 0.0 { 0 } else { w.min(u32::MAX as f64) as u64 })
}

fn bucket_name<'a>(bucket: &'a Node, env: &Env<'a>, data: Data<'a, '_>) -> Val<'a> {
    match bucket {
        Node::Const(Value::Array(items)) => items.first().map_or(Val::Null, Val::from_json),
        Node::Array(items) => items.first().map_or(Val::Null, |n| eval(n, env, data)),
        _ => Val::Null,
    }
}

/// flagd's `fractional`, v2: bucket = (murmur3(value) × Σweights) >> 32 against the
/// cumulative weights. Without a leading bucketing expression the value is
/// `$flagd.flagKey` followed by the targeting key.
pub(crate) fn fractional<'a>(args: &'a [Node], env: &Env<'a>, data: Data<'a, '_>) -> Val<'a> {
    let Some(first) = args.first() else { return Val::Null };
    let (hash, buckets) = if is_bucket(first) {
        let Some(key) = env.targeting_key() else { return Val::Null };
        (murmur3_x86_32(&[env.flag_key.as_bytes(), key.as_bytes()], 0), args)
    } else {
        let value = eval(first, env, data);
        let Some(key) = value.as_str() else { return Val::Null };
        (murmur3_x86_32(&[key.as_bytes()], 0), &args[1..])
    };
    let mut total = 0u64;
    for b in buckets {
        match weight(b, env, data) {
            Some(w) => total += w,
            None => return Val::Null,
        }
    }
    if total == 0 {
        return Val::Null;
    }
    let pick = (u128::from(hash) * u128::from(total)) >> 32;
    let mut cumulative = 0u128;
    for b in buckets {
        cumulative += u128::from(weight(b, env, data).unwrap_or(0));
        if pick < cumulative {
            return bucket_name(b, env, data);
        }
    }
    Val::Null
}

/// The compiled form of a `fractional` whose buckets are all literal, when its weights are
/// valid (else the general form, which gives null at evaluation as flagd does).
pub(crate) fn fractional_const(args: &[Node]) -> Option<Node> {
    let first = args.first()?;
    let (key, buckets) = if is_bucket(first) { (None, args) } else { (Some(first), &args[1..]) };
    let mut names = Vec::with_capacity(buckets.len());
    let mut cumulative = Vec::with_capacity(buckets.len());
    let mut total = 0u64;
    for b in buckets {
        let Node::Const(Value::Array(items)) = b else { return None };
        let w = match items.get(1) {
            None => 1,
            Some(v) => {
                let w = v.as_f64()?;
                if w.is_nan() {
                    return None;
                }
                if w <= 0.0 {
                    0
                } else {
                    w.min(u32::MAX as f64) as u64
                }
            }
        };
        total += w;
        names.push(items.first().cloned().unwrap_or(Value::Null));
        cumulative.push(total);
    }
    let key = match key {
        Some(k) => Some(Box::new(compile_clone(k)?)),
        None => None,
    };
    Some(Node::FractionalConst { key, names: names.into(), cumulative: cumulative.into() })
}

/// Only simple bucketing expressions are moved into the compiled form (the rest keep
/// the general one): a `var` or a literal.
fn compile_clone(node: &Node) -> Option<Node> {
    match node {
        Node::Var { path, kind, default: None } => Some(Node::Var { path: path.clone(), kind: *kind, default: None }),
        Node::Const(v) => Some(Node::Const(v.clone())),
        Node::FlagKey => Some(Node::FlagKey),
        _ => None,
    }
}

/// Evaluates a [`Node::FractionalConst`].
pub(crate) fn fractional_pick<'a>(
    key: Option<&'a Node>,
    names: &'a [Value],
    cumulative: &[u64],
    env: &Env<'a>,
    data: Data<'a, '_>,
) -> Val<'a> {
    let hash = match key {
        None => {
            let Some(k) = env.targeting_key() else { return Val::Null };
            murmur3_x86_32(&[env.flag_key.as_bytes(), k.as_bytes()], 0)
        }
        Some(node) => {
            let value = eval(node, env, data);
            let Some(k) = value.as_str() else { return Val::Null };
            murmur3_x86_32(&[k.as_bytes()], 0)
        }
    };
    let total = cumulative.last().copied().unwrap_or(0);
    if total == 0 {
        return Val::Null;
    }
    let pick = (u128::from(hash) * u128::from(total)) >> 32;
    match cumulative.iter().position(|&c| pick < u128::from(c)) {
        Some(i) => Val::from_json(&names[i]),
        None => Val::Null,
    }
}

/// Room to print a number as a version without allocating.
struct Buf {
    bytes: [u8; 40],
    len: usize,
}

impl std::fmt::Write for Buf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.bytes.len() {
            return Err(std::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// A version operand: a string, or a number printed as one (`1.2` → "1.2").
fn version_text<'v>(v: &'v Val<'_>, buf: &'v mut Buf) -> Option<&'v str> {
    match v {
        Val::Num(n) if n.is_finite() => {
            write!(buf, "{n}").ok()?;
            std::str::from_utf8(&buf.bytes[..buf.len]).ok()
        }
        other => other.as_str(),
    }
}

/// flagd's `sem_ver`: `[version, op, version]` with `=`, `!=`, `<`, `<=`, `>`, `>=`,
/// `^` (same major), `~` (same major and minor); null on a bad version, operator or
/// argument count.
pub(crate) fn sem_ver<'a>(args: &'a [Node], env: &Env<'a>, data: Data<'a, '_>) -> Val<'a> {
    if args.len() != 3 {
        return Val::Null;
    }
    let (left, op, right) = (eval(&args[0], env, data), eval(&args[1], env, data), eval(&args[2], env, data));
    let (mut lb, mut rb) = (Buf { bytes: [0; 40], len: 0 }, Buf { bytes: [0; 40], len: 0 });
    let (Some(l), Some(op), Some(r)) = (version_text(&left, &mut lb), op.as_str(), version_text(&right, &mut rb))
    else {
        return Val::Null;
    };
    let (Some(l), Some(r)) = (Version::parse(l), Version::parse(r)) else { return Val::Null };
    let order = l.precedence(&r);
    Val::Bool(match op {
        "=" => order == Ordering::Equal,
        "!=" => order != Ordering::Equal,
        "<" => order == Ordering::Less,
        "<=" => order != Ordering::Greater,
        ">" => order == Ordering::Greater,
        ">=" => order != Ordering::Less,
        "^" => l.major == r.major,
        "~" => l.major == r.major && l.minor == r.minor,
        _ => return Val::Null,
    })
}

/// `starts_with` / `ends_with`: two strings, else null.
pub(crate) fn affix<'a>(starts: bool, args: &'a [Node], env: &Env<'a>, data: Data<'a, '_>) -> Val<'a> {
    if args.len() != 2 {
        return Val::Null;
    }
    let (s, fix) = (eval(&args[0], env, data), eval(&args[1], env, data));
    match (s.as_str(), fix.as_str()) {
        (Some(s), Some(fix)) => Val::Bool(if starts { s.starts_with(fix) } else { s.ends_with(fix) }),
        _ => Val::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::murmur3_x86_32;

    #[test]
    fn murmur3_reference_vectors() {
        // Published MurmurHash3_x86_32 vectors (seed 0 unless given).
        assert_eq!(murmur3_x86_32(&[b""], 0), 0);
        assert_eq!(murmur3_x86_32(&[b""], 1), 0x514e_28b7);
        assert_eq!(murmur3_x86_32(&[b"hello"], 0), 0x248b_fa47);
        assert_eq!(murmur3_x86_32(&[b"Hello, world!"], 0), 0xc036_3e43);
        assert_eq!(murmur3_x86_32(&[b"The quick brown fox jumps over the lazy dog"], 0), 0x2e4f_f723);
        // Split anywhere, the hash is the hash of the concatenation.
        let whole = murmur3_x86_32(&[b"fractional-flagjack"], 0);
        for i in 0..19 {
            let s = b"fractional-flagjack";
            assert_eq!(murmur3_x86_32(&[&s[..i], &s[i..]], 0), whole, "split at {i}");
        }
        // The prefix form, split anywhere.
        for i in 0..=19 {
            let s = b"fractional-flagjack";
            assert_eq!(super::Murmur3Prefix::new(&s[..i], 0).hash(&s[i..]), whole, "prefix split at {i}");
        }
        // Longer keys, in two and three parts.
        let long: Vec<u8> = (0..300u32).map(|i| (i * 7 % 251) as u8).collect();
        let whole = murmur3_x86_32(&[&long], 0);
        for i in [0, 1, 2, 3, 5, 129, 150, 298, 300] {
            assert_eq!(murmur3_x86_32(&[&long[..i], &long[i..]], 0), whole, "long split at {i}");
            assert_eq!(super::Murmur3Prefix::new(&long[..i], 0).hash(&long[i..]), whole, "long prefix at {i}");
            let j = (i + 7).min(300);
            assert_eq!(murmur3_x86_32(&[&long[..i], &long[i..j], &long[j..]], 0), whole, "three parts at {i}");
        }
        // Parts shorter than a block, in every rhythm, so carries fill across parts.
        for sizes in [[1, 1, 1], [1, 2, 3], [3, 3, 2], [2, 5, 1], [7, 1, 6]] {
            let mut parts: Vec<&[u8]> = Vec::new();
            let (mut at, mut k) = (0, 0);
            while at < long.len() {
                let end = (at + sizes[k % 3]).min(long.len());
                parts.push(&long[at..end]);
                (at, k) = (end, k + 1);
            }
            assert_eq!(murmur3_x86_32(&parts, 0), whole, "parts of {sizes:?}");
        }
    }
}
