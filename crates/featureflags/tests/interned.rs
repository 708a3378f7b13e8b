//! Interned strings by id: an evaluation names its variant and rule id by symbols whose
//! ids resolve to the same strings for the engine's lifetime, and `evaluate_value` reads
//! the value off the variant it served.

use featureflags::{Context, Engine, Reason};

const V1: &str = r#"{"schema_version": 1, "flags": {"layout": {"type": "multivariate",
  "variants": {"classic": 1, "pro": {"levels": 20}}, "default": "classic",
  "rules": [{"id": "vip", "when": {"attr": "tier", "op": "equals", "value": "vip"}, "serve": "pro"}]}},
  "experiments": {"btn": {"status": "running", "variants": {"control": 50, "blue": 50},
  "metrics": {"buy": "conversion"}}}}"#;
const WITHOUT_LAYOUT: &str = r#"{"schema_version": 1}"#;

#[test]
fn evaluations_name_their_strings_by_ids_that_outlive_reloads() {
    let engine = Engine::default();
    engine.load_json(V1.as_bytes()).unwrap();
    let mut vip = Context::new("u1");
    vip.set_string("tier", "vip").unwrap();

    let (ev, value) = engine.evaluate_value(b"layout", &vip);
    assert_eq!((ev.variant, ev.reason, ev.rule_id), (Some("pro"), Reason::RuleMatch, Some("vip")));
    assert_eq!(value.as_deref(), Some(r#"{"levels":20}"#));
    let (variant, rule) = (ev.variant_sym.unwrap().id(), ev.rule_id_sym.unwrap().id());
    assert_eq!((engine.interned(variant), engine.interned(rule)), (Some("pro"), Some("vip")));
    assert_eq!(engine.evaluate("layout", &vip), ev, "evaluate_value's detail is evaluate's");

    engine.load_json(WITHOUT_LAYOUT.as_bytes()).unwrap();
    assert_eq!(engine.evaluate_value(b"layout", &vip), (engine.evaluate("layout", &vip), None));
    assert_eq!(engine.interned(variant), Some("pro"), "a reload that drops the string keeps its id");
    engine.load_json(V1.as_bytes()).unwrap();
    assert_eq!(engine.evaluate("layout", &vip).variant_sym.map(|s| s.id()), Some(variant));
    assert_eq!(engine.interned(u32::MAX), None);

    let assigned = engine.assign_sym("btn", &vip).unwrap();
    assert_eq!(engine.interned(assigned.id()), engine.assign("btn", &vip));
    assert_eq!(engine.assign_sym("missing", &vip), None);
}
