//! A flag's targeting rules, and what a rule or default serves: one variant or a
//! weighted split.

use std::collections::HashMap;

use serde_json::Value;

use super::conditions::Scope;
use super::document::describe;
use super::Compiler;
use crate::bucketing::{has_at_most_three_decimals, split_thresholds};
use crate::intern::Sym;
use crate::snapshot::{FlagKind, Rule, Serve};

/// A flag's or experiment's variant keys in order, found by name in constant time: a
/// split or a list of references as long as the document allows must not make
/// validation quadratic.
pub(super) struct VariantNames<'a> {
    names: Vec<&'a str>,
    index: HashMap<&'a str, u32>,
}

impl<'a> VariantNames<'a> {
    pub(super) fn new(names: impl Iterator<Item = &'a str>) -> Self {
        let names: Vec<&str> = names.collect();
        let index = names.iter().enumerate().map(|(i, n)| (*n, i as u32)).collect();
        VariantNames { names, index }
    }

    pub(super) fn find(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// The names for a message, at most [`NAMES_LISTED`] of them, so that a message
    /// stays short whatever the variant count.
    fn listed(&self) -> String {
        let shown = self.names[..self.names.len().min(NAMES_LISTED)].join(", ");
        match self.names.len().checked_sub(NAMES_LISTED) {
            Some(more) if more > 0 => format!("{shown} and {more} more"),
            _ => shown,
        }
    }
}

const NAMES_LISTED: usize = 20;

impl Compiler {
    pub(super) fn rules(
        &mut self,
        kind: FlagKind,
        value: Option<&Value>,
        path: &str,
        flag_salt: &str,
        names: &VariantNames<'_>,
    ) -> Vec<Rule> {
        let mut rules = Vec::new();
        match value {
            None => {}
            Some(_) if kind == FlagKind::KillSwitch => self.problem(
                &format!("{path}.rules"),
                "a kill switch has no rules (pull it with enabled: false or an override)",
            ),
            Some(Value::Array(items)) if items.len() > self.limits.max_rules_per_flag => self.problem(
                &format!("{path}.rules"),
                format!(
                    "{} rules; the limit is {} (engine option max_rules_per_flag)",
                    items.len(),
                    self.limits.max_rules_per_flag
                ),
            ),
            Some(Value::Array(items)) => {
                let mut seen_ids = HashMap::new();
                for (i, item) in items.iter().enumerate() {
                    let rpath = format!("{path}.rules[{i}]");
                    if let Some(rule) = self.rule(item, &rpath, i, flag_salt, names) {
                        if let Some(first) = seen_ids.insert(rule.id.clone(), i) {
                            self.problem(
                                &format!("{rpath}.id"),
                                format!("duplicate rule id \"{}\" (also rules[{first}])", rule.id),
                            );
                        }
                        rules.push(rule);
                    }
                }
            }
            Some(v) => self.problem(&format!("{path}.rules"), format!("expected an array, found {}", describe(v))),
        }
        rules
    }

    /// Rule number `index`, whose id defaults to that number.
    fn rule(
        &mut self,
        value: &Value,
        path: &str,
        index: usize,
        flag_salt: &str,
        names: &VariantNames<'_>,
    ) -> Option<Rule> {
        let obj = self.object(value, path)?;
        self.known_keys(obj, path, &["id", "when", "serve"]);
        let id: Box<str> = match obj.get("id") {
            Some(v) => self.non_empty_string(v, &format!("{path}.id"))?.into(),
            None => index.to_string().into(),
        };
        let when = match obj.get("when") {
            Some(v) => self.condition(v, &format!("{path}.when"), 1, &Scope::Rule { flag_salt, rule_id: &id }),
            None => {
                self.problem(&format!("{path}.when"), "required");
                return None;
            }
        };
        let serve = match obj.get("serve") {
            Some(v) => self.serve(v, &format!("{path}.serve"), names)?,
            None => {
                self.problem(&format!("{path}.serve"), "required");
                return None;
            }
        };
        Some(Rule { id, id_sym: Sym::UNSET, when, serve })
    }

    /// The index of the variant `value` names, among `names`.
    pub(super) fn variant_ref(&mut self, value: &Value, path: &str, names: &VariantNames<'_>) -> Option<u32> {
        let name = self.string(value, path)?;
        self.variant_named(name, path, names)
    }

    fn variant_named(&mut self, name: &str, path: &str, names: &VariantNames<'_>) -> Option<u32> {
        let index = names.find(name);
        if index.is_none() {
            self.problem(path, format!("unknown variant \"{name}\" (expected one of: {})", names.listed()));
        }
        index
    }

    /// A variant key, or `{"split": {variant: weight, …}}`.
    pub(super) fn serve(&mut self, value: &Value, path: &str, names: &VariantNames<'_>) -> Option<Serve> {
        if value.is_string() {
            return self.variant_ref(value, path, names).map(Serve::Variant);
        }
        let obj = value.as_object().filter(|o| o.len() == 1 && o.contains_key("split"));
        let Some(obj) = obj else {
            self.problem(path, format!("expected a variant key or {{\"split\": {{…}}}}, found {value}"));
            return None;
        };
        let spath = format!("{path}.split");
        let split = self.object(&obj["split"], &spath)?;
        if split.is_empty() {
            self.problem(&spath, "a split needs at least one variant");
            return None;
        }
        let mut variants = Vec::with_capacity(split.len());
        let mut weights = Vec::with_capacity(split.len());
        let mut ok = true;
        for (name, weight) in split {
            let wpath = format!("{spath}.{name}");
            let index = self.variant_named(name, &wpath, names);
            let w = self.number(weight, &wpath);
            match w {
                Some(w) if w < 0.0 => {
                    self.problem(&wpath, format!("weight {w} is negative"));
                    ok = false;
                }
                Some(w) if !has_at_most_three_decimals(w) => {
                    self.problem(&wpath, format!("weight {w} has more than three decimals"));
                    ok = false;
                }
                None => ok = false,
                _ => {}
            }
            match (index, w) {
                (Some(i), Some(w)) => {
                    variants.push(i);
                    weights.push(w);
                }
                _ => ok = false,
            }
        }
        if !ok {
            return None;
        }
        let total: f64 = weights.iter().sum();
        if !(total > 0.0 && total.is_finite()) {
            self.problem(&spath, format!("weights must sum to a positive finite number (sum is {total})"));
            return None;
        }
        Some(Serve::Split { thresholds: split_thresholds(&weights).into(), variants: variants.into() })
    }
}
