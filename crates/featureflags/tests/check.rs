//! `Engine::check_json` rejects what `load_json` rejects, with the same problems, and
//! accepts what it accepts, without changing the engine.

use std::path::PathBuf;

use featureflags::{Engine, LoadError};
use serde_json::Value;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors")
}

#[test]
fn check_agrees_with_load() {
    let cases: Value = serde_json::from_slice(&std::fs::read(vectors().join("invalid.json")).unwrap()).unwrap();
    let mut documents: Vec<Vec<u8>> =
        cases.as_array().unwrap().iter().map(|c| c["config"].to_string().into_bytes()).collect();
    documents.push(std::fs::read(vectors().join("config.json")).unwrap());
    documents
        .push(std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/trading.json")).unwrap());
    documents.push(b"{\"flags\": [1, }".to_vec());
    for doc in &documents {
        let checker = Engine::default();
        let checked = checker.check_json(doc);
        assert_eq!(checker.generation(), 0, "checking installs nothing");
        assert_eq!(checker.drain_events(0), "", "checking emits nothing");
        let loader = Engine::default();
        match (checked, loader.load_json(doc)) {
            (Ok(c), Ok(l)) => {
                assert_eq!(
                    (c.flags, c.experiments, c.rollouts, c.funnels),
                    (l.flags, l.experiments, l.rollouts, l.funnels)
                );
                assert_eq!(c.revision, l.revision);
            }
            (Err(c), Err(LoadError::Invalid(l))) => assert_eq!(c, l),
            (c, l) => panic!("check {c:?} but load {l:?} for {}", String::from_utf8_lossy(doc)),
        }
    }
}
