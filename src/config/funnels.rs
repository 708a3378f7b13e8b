//! Funnels: ordered event steps completed within a window, optionally reported per
//! variant of an experiment.

use serde_json::{Map, Value};

use super::Compiler;
use crate::analytics::{Funnel, DEFAULT_WINDOW_MS, MAX_STEPS};
use crate::intern::Sym;
use crate::rollouts::parse_duration_ms;

impl Compiler {
    pub(super) fn funnel(&mut self, key: &str, def: &Value, experiments: &Map<String, Value>) -> Option<Funnel> {
        let path = format!("funnels.{key}");
        let obj = self.object(def, &path)?;
        self.known_keys(obj, &path, &["description", "steps", "window", "experiment"]);
        let _ = obj.get("description").map(|v| self.string(v, &format!("{path}.description")));
        let spath = format!("{path}.steps");
        let steps: Option<Vec<Box<str>>> = match obj.get("steps").map(|v| (v, v.as_array())) {
            None => {
                self.problem(&spath, "required");
                None
            }
            Some((_, Some(items))) if (2..=MAX_STEPS).contains(&items.len()) => {
                let steps: Vec<Box<str>> = items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| self.non_empty_string(v, &format!("{spath}[{i}]")).map(Box::from))
                    .collect();
                let distinct = steps.iter().collect::<std::collections::HashSet<_>>().len() == steps.len();
                if !distinct {
                    self.problem(&spath, "steps must be distinct events");
                }
                (steps.len() == items.len() && distinct).then_some(steps)
            }
            Some((v, _)) => {
                self.problem(&spath, format!("expected an array of 2 to {MAX_STEPS} event names, found {v}"));
                None
            }
        };
        let window_ms = match obj.get("window") {
            None => Some(DEFAULT_WINDOW_MS),
            Some(v) => self.string(v, &format!("{path}.window")).and_then(|text| {
                let ms = parse_duration_ms(text);
                if ms.is_none() {
                    self.problem(
                        &format!("{path}.window"),
                        format!("invalid duration \"{text}\" (expected a number and a unit: ms, s, m, h, d)"),
                    );
                }
                ms
            }),
        };
        let experiment = match obj.get("experiment") {
            None => None,
            Some(v) => {
                let name = self.string(v, &format!("{path}.experiment"))?;
                if !experiments.contains_key(name) {
                    self.problem(&format!("{path}.experiment"), format!("unknown experiment \"{name}\""));
                }
                Some(Box::from(name))
            }
        };
        Some(Funnel { key: key.into(), sym: Sym::UNSET, steps: steps?.into(), window_ms: window_ms?, experiment })
    }
}
