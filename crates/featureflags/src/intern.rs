//! Strings handed out across the C ABI (variant keys, rule ids) must stay valid until the
//! engine is freed, even after the snapshot that named them is replaced. They are
//! interned in an append-only, lock-free arena owned by the engine: reads take no lock,
//! and a reload that reuses a name reuses its entry.

use std::sync::Mutex;

use rustc_hash::FxHashMap;

use crate::sync::lock;

/// Index of an interned string (a variant key, rule id, experiment key or metric name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sym(pub(crate) u32);

impl Sym {
    /// Placeholder before interning; never read.
    pub(crate) const UNSET: Sym = Sym(u32::MAX);

    /// The number that names this string for the engine's lifetime: ids are handed out
    /// from 0 up, so a binding can cache the strings in an array indexed by it.
    #[inline]
    pub fn id(self) -> u32 {
        self.0
    }
}

#[derive(Default)]
pub(crate) struct Interner {
    strings: boxcar::Vec<Box<str>>,
    index: Mutex<FxHashMap<Box<str>, Sym>>,
}

impl Interner {
    pub(crate) fn intern(&self, text: &str) -> Sym {
        let mut index = lock(&self.index);
        if let Some(sym) = index.get(text) {
            return *sym;
        }
        let sym = Sym(self.strings.push(text.into()) as u32);
        index.insert(text.into(), sym);
        sym
    }

    #[inline]
    pub(crate) fn get(&self, sym: Sym) -> &str {
        self.strings.get(sym.0 as usize).map_or("", |s| s)
    }

    /// The string interned under `id`, or `None` when no string has that id (yet).
    #[inline]
    pub(crate) fn by_id(&self, id: u32) -> Option<&str> {
        self.strings.get(id as usize).map(|s| &**s)
    }

    pub(crate) fn len(&self) -> usize {
        self.strings.count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings handed out stay valid and unchanged while other threads intern more (the
    /// arena grows by new buckets, never moving what it holds); ids are dense and a
    /// name interned twice has one id. Small enough for Miri, which checks the arena's
    /// lock-free reads for data races.
    #[test]
    fn interned_strings_stay_valid_while_other_threads_intern() {
        let interner = Interner::default();
        let first = interner.intern("first");
        let held: &str = interner.get(first);
        std::thread::scope(|scope| {
            for t in 0..3 {
                let interner = &interner;
                scope.spawn(move || {
                    for i in 0..40 {
                        let name = format!("t{t}-{i}");
                        let sym = interner.intern(&name);
                        assert_eq!(interner.get(sym), name);
                        assert_eq!(interner.intern(&name), sym);
                        assert_eq!(interner.by_id(sym.id()), Some(name.as_str()));
                    }
                });
            }
        });
        assert_eq!(held, "first");
        assert_eq!(interner.len(), 1 + 3 * 40);
        let mut ids: Vec<u32> = (0..interner.len() as u32).filter(|&id| interner.by_id(id).is_some()).collect();
        ids.dedup();
        assert_eq!(ids.len(), interner.len(), "ids are 0..len");
        assert_eq!(interner.by_id(interner.len() as u32), None);
        assert_eq!(interner.get(Sym::UNSET), "");
    }
}
