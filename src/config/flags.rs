//! Flags: their type, variants, default and off variant, rules, prerequisites, salt and
//! schedule.

use std::collections::HashMap;
use std::sync::atomic::AtomicU32;

use serde_json::Value;

use super::document::describe;
use super::prerequisites::Outline;
use super::{Compiler, MAX_DEPTH};
use crate::bucketing::{split_thresholds, Salt};
use crate::intern::Sym;
use crate::snapshot::{Flag, FlagKind, Prerequisite, Serve, Variant, NO_OVERRIDE};

pub(super) fn kind_of(value: &Value) -> Option<FlagKind> {
    match value.get("type")?.as_str()? {
        "boolean" => Some(FlagKind::Boolean),
        "multivariate" => Some(FlagKind::Multivariate),
        "percentage" => Some(FlagKind::Percentage),
        "kill_switch" => Some(FlagKind::KillSwitch),
        _ => None,
    }
}

fn variant(key: &str, value_json: &str) -> Variant {
    Variant { key: key.into(), sym: Sym::UNSET, value_json: value_json.into() }
}

fn json_depth(value: &Value) -> usize {
    match value {
        Value::Array(a) => 1 + a.iter().map(json_depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

impl Compiler {
    pub(super) fn flag(&mut self, key: &str, def: &Value, outlines: &HashMap<&str, (u32, Outline)>) -> Option<Flag> {
        let path = format!("flags.{key}");
        if key.is_empty() {
            self.problem(&path, "flag key must not be empty");
        }
        let obj = self.object(def, &path)?;
        self.known_keys(
            obj,
            &path,
            &[
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
            ],
        );
        let kind = match obj.get("type") {
            None => {
                self.problem(&format!("{path}.type"), "required");
                None
            }
            Some(v) => {
                let kind = kind_of(def);
                if kind.is_none() {
                    self.problem(
                        &format!("{path}.type"),
                        format!("unknown flag type {v} (expected boolean, multivariate, percentage or kill_switch)"),
                    );
                }
                kind
            }
        };
        let enabled = match obj.get("enabled") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                self.problem(&format!("{path}.enabled"), format!("expected a boolean, found {}", describe(v)));
                true
            }
        };
        let description =
            obj.get("description").and_then(|v| self.string(v, &format!("{path}.description"))).map(Box::from);
        let tags = match obj.get("tags") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, t)| self.string(t, &format!("{path}.tags[{i}]")).map(Box::from))
                .collect(),
            Some(v) => {
                self.problem(&format!("{path}.tags"), format!("expected an array of strings, found {}", describe(v)));
                Vec::new()
            }
        };
        let salt_text: Box<str> = match obj.get("salt") {
            Some(v) => self.non_empty_string(v, &format!("{path}.salt")).unwrap_or(key).into(),
            None => key.into(),
        };
        let bucket_by =
            obj.get("bucket_by").and_then(|v| self.non_empty_string(v, &format!("{path}.bucket_by"))).map(Box::from);
        let kind = kind?;

        // Variants.
        let variants: Vec<Variant> = if kind.is_boolean_like() {
            if obj.contains_key("variants") {
                self.problem(
                    &format!("{path}.variants"),
                    format!("a {} flag has the fixed variants \"on\" and \"off\"", kind.as_str()),
                );
            }
            vec![variant("on", "true"), variant("off", "false")]
        } else {
            match obj.get("variants") {
                None => {
                    self.problem(&format!("{path}.variants"), "required for a multivariate flag");
                    Vec::new()
                }
                Some(v) => match self.object(v, &format!("{path}.variants")) {
                    None => Vec::new(),
                    Some(map) => {
                        if map.is_empty() {
                            self.problem(&format!("{path}.variants"), "must name at least one variant");
                        }
                        map.iter()
                            .map(|(name, value)| {
                                if name.is_empty() {
                                    self.problem(&format!("{path}.variants"), "variant keys must not be empty");
                                }
                                if json_depth(value) > MAX_DEPTH {
                                    self.problem(
                                        &format!("{path}.variants.{name}"),
                                        format!("value nested deeper than {MAX_DEPTH}"),
                                    );
                                }
                                variant(name, &value.to_string())
                            })
                            .collect()
                    }
                },
            }
        };
        let names: Vec<&str> = variants.iter().map(|v| &*v.key).collect();

        // Percentage.
        let percentage = match (kind, obj.get("percentage")) {
            (FlagKind::Percentage, None) => {
                self.problem(&format!("{path}.percentage"), "required for a percentage flag");
                None
            }
            (FlagKind::Percentage, Some(v)) => self.percentage(v, &format!("{path}.percentage")),
            (_, Some(_)) => {
                self.problem(&format!("{path}.percentage"), "only percentage flags have a percentage");
                None
            }
            (_, None) => None,
        };

        // Default and off variant.
        let default = match (kind, obj.get("default")) {
            (FlagKind::Percentage, Some(_)) => {
                self.problem(&format!("{path}.default"), "a percentage flag's default is its percentage split");
                None
            }
            (FlagKind::Percentage, None) => {
                let p = percentage.unwrap_or(0.0);
                Some(Serve::Split { thresholds: split_thresholds(&[p, 100.0 - p]).into(), variants: Box::new([0, 1]) })
            }
            (FlagKind::Multivariate, None) => {
                self.problem(&format!("{path}.default"), "required for a multivariate flag");
                None
            }
            (_, None) => Some(Serve::Variant(0)),
            (_, Some(v)) => self.serve(v, &format!("{path}.default"), &names),
        };
        let off_variant = match obj.get("off_variant") {
            None if kind.is_boolean_like() => Some(1),
            None => None,
            Some(v) => self.variant_ref(v, &format!("{path}.off_variant"), &names),
        };

        // Rules.
        let mut rules = Vec::new();
        match obj.get("rules") {
            None => {}
            Some(_) if kind == FlagKind::KillSwitch => self.problem(
                &format!("{path}.rules"),
                "a kill switch has no rules (pull it with enabled: false or an override)",
            ),
            Some(Value::Array(items)) => {
                let mut seen_ids = HashMap::new();
                for (i, item) in items.iter().enumerate() {
                    let rpath = format!("{path}.rules[{i}]");
                    if let Some(rule) = self.rule(item, &rpath, i, &salt_text, &names) {
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

        // Prerequisites.
        let mut prerequisites = Vec::new();
        match obj.get("prerequisites") {
            None => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let ppath = format!("{path}.prerequisites[{i}]");
                    let Some(p) = self.object(item, &ppath) else { continue };
                    self.known_keys(p, &ppath, &["flag", "variant"]);
                    let target = match p.get("flag") {
                        None => {
                            self.problem(&format!("{ppath}.flag"), "required");
                            None
                        }
                        Some(v) => self.string(v, &format!("{ppath}.flag")).and_then(|name| {
                            let found = outlines.get(name);
                            if found.is_none() {
                                self.problem(&format!("{ppath}.flag"), format!("unknown flag \"{name}\""));
                            } else if name == key {
                                self.problem(&format!("{ppath}.flag"), "a flag cannot be its own prerequisite");
                            }
                            found
                        }),
                    };
                    let variant = match p.get("variant") {
                        None => {
                            self.problem(&format!("{ppath}.variant"), "required");
                            None
                        }
                        Some(v) => self.string(v, &format!("{ppath}.variant")),
                    };
                    if let (Some((index, outline)), Some(variant)) = (target, variant) {
                        match outline.variants.iter().position(|v| v == variant) {
                            Some(vi) => prerequisites.push(Prerequisite { flag: *index, variant: vi as u32 }),
                            None => self.problem(
                                &format!("{ppath}.variant"),
                                format!("flag \"{}\" has no variant \"{variant}\"", p["flag"].as_str().unwrap_or("")),
                            ),
                        }
                    }
                }
            }
            Some(v) => {
                self.problem(&format!("{path}.prerequisites"), format!("expected an array, found {}", describe(v)))
            }
        }

        // Schedule.
        let schedule = match obj.get("schedule") {
            None => None,
            Some(v) => {
                let spath = format!("{path}.schedule");
                self.object(v, &spath).map(|s| {
                    self.known_keys(s, &spath, &["enable_at", "disable_at"]);
                    let enable_at = s.get("enable_at").and_then(|v| self.instant_ms(v, &format!("{spath}.enable_at")));
                    let disable_at =
                        s.get("disable_at").and_then(|v| self.instant_ms(v, &format!("{spath}.disable_at")));
                    if let (Some(a), Some(b)) = (enable_at, disable_at) {
                        if a >= b {
                            self.problem(&format!("{spath}.disable_at"), "must be later than enable_at");
                        }
                    }
                    (enable_at, disable_at)
                })
            }
        };

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
            salt_text,
            tags: tags.into(),
            description,
            variants: variants.into(),
            override_slot: AtomicU32::new(NO_OVERRIDE),
            rollout: None,
        })
    }
}
