//! Prerequisites: the outline of every flag that lets a prerequisite name a flag compiled
//! later, and the graph prerequisites form (no cycles, chains at most [`MAX_DEPTH`] deep).

use serde_json::Value;

use super::flags::kind_of;
use super::{Compiler, MAX_DEPTH};
use crate::snapshot::{Flag, FlagKind};

/// What pass one learns about a flag so others can reference it.
pub(super) struct Outline {
    pub(super) variants: Vec<String>,
}

pub(super) fn outline(def: &Value) -> Outline {
    let variants = match kind_of(def) {
        Some(FlagKind::Multivariate) => {
            def.get("variants").and_then(Value::as_object).map(|m| m.keys().cloned().collect()).unwrap_or_default()
        }
        Some(_) => vec!["on".into(), "off".into()],
        None => Vec::new(),
    };
    Outline { variants }
}

impl Compiler {
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
