//! Funnels: ordered event steps completed within a window, optionally reported per
//! variant of an experiment.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::Compiler;
use crate::analytics::{Funnel, DEFAULT_WINDOW_MS, MAX_STEPS};
use crate::intern::Sym;

impl Compiler {
    pub(super) fn funnel(&mut self, key: &str, def: &Value, experiments: &Map<String, Value>) -> Option<Funnel> {
        let path = format!("funnels.{key}");
        let obj = self.object(def, &path)?;
        self.known_keys(obj, &path, &["description", "steps", "window", "experiment"]);
        let _ = obj.get("description").map(|v| self.string(v, &format!("{path}.description")));
        let steps = self.steps(obj.get("steps"), &format!("{path}.steps"));
        let window_ms = match obj.get("window") {
            None => Some(DEFAULT_WINDOW_MS),
            Some(v) => self.duration_ms(v, &format!("{path}.window")),
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

    fn steps(&mut self, value: Option<&Value>, path: &str) -> Option<Vec<Box<str>>> {
        let Some(value) = value else {
            self.problem(path, "required");
            return None;
        };
        let Some(items) = value.as_array().filter(|a| (2..=MAX_STEPS).contains(&a.len())) else {
            self.problem(path, format!("expected an array of 2 to {MAX_STEPS} event names, found {value}"));
            return None;
        };
        let steps: Vec<Box<str>> = items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| self.non_empty_string(v, &format!("{path}[{i}]")).map(Box::from))
            .collect();
        let distinct = steps.iter().collect::<HashSet<_>>().len() == steps.len();
        if !distinct {
            self.problem(path, "steps must be distinct events");
        }
        (steps.len() == items.len() && distinct).then_some(steps)
    }
}
