//! Prerequisites: references from one flag to a variant of another, resolved against an
//! outline of every flag, and the graph they form (no cycles, chains at most
//! [`MAX_DEPTH`] deep).

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::document::describe;
use super::flags::kind_of;
use super::rules::VariantNames;
use super::{Compiler, MAX_DEPTH};
use crate::snapshot::{Flag, FlagKind, Prerequisite};

/// What a flag must expose before any flag compiles, so that a prerequisite can name a
/// flag that comes later in the document.
pub(super) struct Outline<'a> {
    variants: VariantNames<'a>,
}

/// Every flag's outline with its position in the document, by key.
pub(super) type FlagOutlines<'a> = HashMap<&'a str, (u32, Outline<'a>)>;

pub(super) fn outlines(flags: &Map<String, Value>) -> FlagOutlines<'_> {
    flags.iter().enumerate().map(|(i, (key, def))| (key.as_str(), (i as u32, outline(def)))).collect()
}

fn outline(def: &Value) -> Outline<'_> {
    let variants = match kind_of(def) {
        Some(FlagKind::Multivariate) => match def.get("variants").and_then(Value::as_object) {
            Some(map) => VariantNames::new(map.keys().map(String::as_str)),
            None => VariantNames::new(std::iter::empty()),
        },
        Some(_) => VariantNames::new(["on", "off"].into_iter()),
        None => VariantNames::new(std::iter::empty()),
    };
    Outline { variants }
}

impl Compiler {
    /// The prerequisites of flag `key`.
    pub(super) fn prerequisites(
        &mut self,
        key: &str,
        value: Option<&Value>,
        path: &str,
        outlines: &FlagOutlines<'_>,
    ) -> Vec<Prerequisite> {
        match value {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.prerequisite(key, item, &format!("{path}.prerequisites[{i}]"), outlines))
                .collect(),
            Some(v) => {
                self.problem(&format!("{path}.prerequisites"), format!("expected an array, found {}", describe(v)));
                Vec::new()
            }
        }
    }

    fn prerequisite(
        &mut self,
        key: &str,
        value: &Value,
        path: &str,
        outlines: &FlagOutlines<'_>,
    ) -> Option<Prerequisite> {
        let p = self.object(value, path)?;
        self.known_keys(p, path, &["flag", "variant"]);
        let fpath = format!("{path}.flag");
        let target = match p.get("flag") {
            None => {
                self.problem(&fpath, "required");
                None
            }
            Some(v) => self.string(v, &fpath).and_then(|name| {
                let found = outlines.get(name);
                if found.is_none() {
                    self.problem(&fpath, format!("unknown flag \"{name}\""));
                } else if name == key {
                    self.problem(&fpath, "a flag cannot be its own prerequisite");
                }
                found
            }),
        };
        let variant = match p.get("variant") {
            None => {
                self.problem(&format!("{path}.variant"), "required");
                None
            }
            Some(v) => self.string(v, &format!("{path}.variant")),
        };
        let ((index, outline), variant) = (target?, variant?);
        match outline.variants.find(variant) {
            Some(vi) => Some(Prerequisite { flag: *index, variant: vi }),
            None => {
                self.problem(
                    &format!("{path}.variant"),
                    format!("flag \"{}\" has no variant \"{variant}\"", p["flag"].as_str().unwrap_or("")),
                );
                None
            }
        }
    }

    /// Rejects prerequisite cycles and chains deeper than [`MAX_DEPTH`].
    pub(super) fn check_prerequisite_graph(&mut self, flags: &[Flag]) {
        // 0 = unvisited, 1 = on the stack, 2 = done; depth[i] = longest chain below i.
        let mut state = vec![0u8; flags.len()];
        let mut depth = vec![0usize; flags.len()];
        for start in 0..flags.len() {
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            while let Some(&(node, next)) = stack.last() {
                if next == 0 && state[node] == 2 {
                    stack.pop();
                    continue;
                }
                state[node] = 1;
                let prerequisites = &flags[node].prerequisites;
                if let Some(p) = prerequisites.get(next) {
                    stack.last_mut().expect("non-empty").1 += 1;
                    let child = p.flag as usize;
                    match state[child] {
                        1 => {
                            let mut cycle: Vec<&str> =
                                stack.iter().skip_while(|(n, _)| *n != child).map(|(n, _)| &*flags[*n].key).collect();
                            cycle.push(&flags[child].key);
                            self.problem(
                                &format!("flags.{}.prerequisites[{next}].flag", flags[node].key),
                                format!("prerequisite cycle: {}", cycle.join(" -> ")),
                            );
                            return;
                        }
                        0 => stack.push((child, 0)),
                        _ => {}
                    }
                } else {
                    depth[node] = prerequisites.iter().map(|p| depth[p.flag as usize] + 1).max().unwrap_or(0);
                    state[node] = 2;
                    stack.pop();
                }
            }
        }
        for (flag, d) in flags.iter().zip(&depth) {
            if *d > MAX_DEPTH {
                self.problem(
                    &format!("flags.{}.prerequisites", flag.key),
                    format!("prerequisite chain is {d} deep; the limit is {MAX_DEPTH}"),
                );
            }
        }
    }
}
