//! Flags: their type, variants, default and off variant, salt and schedule.

use std::sync::atomic::AtomicU32;

use serde_json::{Map, Value};

use super::document::describe;
use super::prerequisites::FlagOutlines;
use super::rules::VariantNames;
use super::{Compiler, MAX_DEPTH};
use crate::bucketing::{split_thresholds, Salt};
use crate::intern::Sym;
use crate::snapshot::{Flag, FlagKind, Serve, TypedValue, Variant, NO_OVERRIDE};

const FLAG_KEYS: &[&str] = &[
    "type",
    "enabled",
    "description",
    "tags",
    "variants",
    "default",
    "off_variant",
    "percentage",
    "rules",
    "prerequisites",
    "schedule",
    "bucket_by",
    "salt",
];

/// The flag type `def` declares, if it declares a known one.
pub(super) fn kind_of(def: &Value) -> Option<FlagKind> {
    match def.get("type")?.as_str()? {
        "boolean" => Some(FlagKind::Boolean),
        "multivariate" => Some(FlagKind::Multivariate),
        "percentage" => Some(FlagKind::Percentage),
        "kill_switch" => Some(FlagKind::KillSwitch),
        _ => None,
    }
}

fn variant(key: &str, value_json: &str) -> Variant {
    Variant { key: key.into(), sym: Sym::UNSET, value_json: value_json.into(), typed: TypedValue::of(value_json) }
}

fn json_depth(value: &Value) -> usize {
    match value {
        Value::Array(a) => 1 + a.iter().map(json_depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

impl Compiler {
    pub(super) fn flag(&mut self, key: &str, def: &Value, outlines: &FlagOutlines<'_>) -> Option<Flag> {
        let path = format!("flags.{key}");
        if key.is_empty() {
            self.problem(&path, "flag key must not be empty");
        }
        self.check_key_length(key, &path, "flag key");
        let obj = self.object(def, &path)?;
        self.start_checks();
        self.known_keys(obj, &path, FLAG_KEYS);
        let kind = self.flag_kind(obj, def, &path);
        let enabled = self.boolean(obj.get("enabled"), &format!("{path}.enabled"), true);
        // Documentation for people: validated, not kept.
        if let Some(v) = obj.get("description") {
            self.string(v, &format!("{path}.description"));
        }
        self.check_tags(obj.get("tags"), &format!("{path}.tags"));
        let salt_text: Box<str> = match obj.get("salt") {
            Some(v) => self.non_empty_string(v, &format!("{path}.salt")).unwrap_or(key).into(),
            None => key.into(),
        };
        let bucket_by =
            obj.get("bucket_by").and_then(|v| self.non_empty_string(v, &format!("{path}.bucket_by"))).map(Box::from);
        let kind = kind?;

        let variants = self.flag_variants(kind, obj.get("variants"), &format!("{path}.variants"));
        let names = VariantNames::new(variants.iter().map(|v| &*v.key));
        let percentage = self.flag_percentage(kind, obj.get("percentage"), &format!("{path}.percentage"));
        let default = self.flag_default(kind, obj.get("default"), &format!("{path}.default"), percentage, &names);
        let off_variant = match obj.get("off_variant") {
            None if kind.is_boolean_like() => Some(1),
            None => None,
            Some(v) => self.variant_ref(v, &format!("{path}.off_variant"), &names),
        };
        let rules = self.rules(kind, obj.get("rules"), &path, &salt_text, &names);
        let prerequisites = self.prerequisites(key, obj.get("prerequisites"), &path, outlines);
        let schedule = obj.get("schedule").and_then(|v| self.schedule(v, &format!("{path}.schedule")));

        Some(Flag {
            key: key.into(),
            kind,
            enabled,
            off_variant,
            rules: rules.into(),
            default: default?,
            prerequisites: prerequisites.into(),
            schedule,
            bucket_by,
            salt: Salt::new(&salt_text),
            variants: variants.into(),
            override_slot: AtomicU32::new(NO_OVERRIDE),
            rollout: None,
            constant: None,
        })
    }

    fn flag_kind(&mut self, obj: &Map<String, Value>, def: &Value, path: &str) -> Option<FlagKind> {
        let Some(v) = obj.get("type") else {
            self.problem(&format!("{path}.type"), "required");
            return None;
        };
        let kind = kind_of(def);
        if kind.is_none() {
            self.problem(
                &format!("{path}.type"),
                format!("unknown flag type {v} (expected boolean, multivariate, percentage or kill_switch)"),
            );
        }
        kind
    }

    fn check_tags(&mut self, value: Option<&Value>, path: &str) {
        match value {
            None => {}
            Some(Value::Array(items)) => {
                for (i, t) in items.iter().enumerate() {
                    self.string(t, &format!("{path}[{i}]"));
                }
            }
            Some(v) => self.problem(path, format!("expected an array of strings, found {}", describe(v))),
        }
    }

    /// Boolean-like flags have the fixed variants `on` and `off`; a multivariate flag
    /// declares its own, each with a JSON value.
    fn flag_variants(&mut self, kind: FlagKind, value: Option<&Value>, path: &str) -> Vec<Variant> {
        if kind.is_boolean_like() {
            if value.is_some() {
                self.problem(path, format!("a {} flag has the fixed variants \"on\" and \"off\"", kind.as_str()));
            }
            return vec![variant("on", "true"), variant("off", "false")];
        }
        let Some(value) = value else {
            self.problem(path, "required for a multivariate flag");
            return Vec::new();
        };
        let Some(map) = self.object(value, path) else { return Vec::new() };
        if map.is_empty() {
            self.problem(path, "must name at least one variant");
        }
        map.iter()
            .map(|(name, value)| {
                if name.is_empty() {
                    self.problem(path, "variant keys must not be empty");
                }
                if json_depth(value) > MAX_DEPTH {
                    self.problem(&format!("{path}.{name}"), format!("value nested deeper than {MAX_DEPTH}"));
                }
                variant(name, &value.to_string())
            })
            .collect()
    }

    fn flag_percentage(&mut self, kind: FlagKind, value: Option<&Value>, path: &str) -> Option<f64> {
        match (kind, value) {
            (FlagKind::Percentage, None) => {
                self.problem(path, "required for a percentage flag");
                None
            }
            (FlagKind::Percentage, Some(v)) => self.percentage(v, path),
            (_, Some(_)) => {
                self.problem(path, "only percentage flags have a percentage");
                None
            }
            (_, None) => None,
        }
    }

    /// What the flag serves when no rule matches. A percentage flag's default is fixed:
    /// `on` for `percentage` percent of users.
    fn flag_default(
        &mut self,
        kind: FlagKind,
        value: Option<&Value>,
        path: &str,
        percentage: Option<f64>,
        names: &VariantNames<'_>,
    ) -> Option<Serve> {
        match (kind, value) {
            (FlagKind::Percentage, Some(_)) => {
                self.problem(path, "a percentage flag's default is its percentage split");
                None
            }
            (FlagKind::Percentage, None) => {
                let p = percentage.unwrap_or(0.0);
                Some(Serve::Split { thresholds: split_thresholds(&[p, 100.0 - p]).into(), variants: Box::new([0, 1]) })
            }
            (FlagKind::Multivariate, None) => {
                self.problem(path, "required for a multivariate flag");
                None
            }
            (_, None) => Some(Serve::Variant(0)),
            (_, Some(v)) => self.serve(v, path, names),
        }
    }

    fn schedule(&mut self, value: &Value, path: &str) -> Option<(Option<i64>, Option<i64>)> {
        let obj = self.object(value, path)?;
        self.known_keys(obj, path, &["enable_at", "disable_at"]);
        Some(self.instant_range(obj, path, ["enable_at", "disable_at"]))
    }
}
