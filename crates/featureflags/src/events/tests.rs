use std::sync::Arc;

use serde_json::json;

use super::queue::CHUNK_BYTES;
use super::text::{push_i64, push_json_string, push_u64};
use super::*;

fn no_names(_: Sym) -> &'static str {
    unreachable!("no exposures queued")
}

fn names(sym: Sym) -> &'static str {
    ["exp", "control", "treatment"][sym.0 as usize]
}

#[test]
fn exposures_drain_like_formatted_events_in_sequence_order() {
    let events = Events::new(100, false);
    events.emit("before", 5, json!({}));
    events.emit_exposure(6, Sym(0), Sym(2), "user \"7\"", names);
    events.emit_exposure(7, Sym(0), Sym(1), "", names);
    events.emit("after", 8, json!({"n": 1}));
    let out = events.drain(0, names);
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(
        lines,
        [
            json!({"type": "before", "seq": 1, "time_ms": 5, "schema": 1}),
            json!({"type": "exposure", "seq": 2, "time_ms": 6, "schema": 1, "experiment": "exp", "user_id": "user \"7\"", "variant": "treatment"}),
            json!({"type": "exposure", "seq": 3, "time_ms": 7, "schema": 1, "experiment": "exp", "user_id": "", "variant": "control"}),
            json!({"type": "after", "seq": 4, "time_ms": 8, "schema": 1, "n": 1}),
        ]
    );
    // A listener gets the same text.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    events.set_listener(Some(Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned())))).unwrap();
    events.emit_exposure(9, Sym(0), Sym(1), "u", names);
    assert_eq!(
        seen.lock().unwrap()[0],
        r#"{"type":"exposure","seq":5,"time_ms":9,"schema":1,"experiment":"exp","user_id":"u","variant":"control"}"#
    );
}

#[test]
fn strings_are_escaped_like_serde_json() {
    let long = "0123456789abcdef".repeat(3);
    let escaped_late = format!("{long}\"{long}");
    let control_in_second_block = format!("{}\u{7}", &long[..17]);
    for text in ["plain", "quote \" and \\ backslash", "new\nline\ttab\r", "\u{1}\u{1f}", "emoji 🚀 é"]
        .into_iter()
        .chain([long.as_str(), escaped_late.as_str(), control_in_second_block.as_str()])
    {
        let mut out = String::new();
        push_json_string(&mut out, text);
        assert_eq!(out, serde_json::to_string(text).unwrap());
    }
}

#[test]
fn full_queue_drops_the_newest_and_counts() {
    let events = Events::new(2, false);
    for i in 0..5 {
        events.emit("test", i, json!({"i": i}));
    }
    assert_eq!(events.dropped(), 3);
    let out = events.drain(1, no_names);
    assert_eq!(out, "{\"type\":\"test\",\"seq\":1,\"time_ms\":0,\"schema\":1,\"i\":0}\n");
    assert_eq!(events.drain(0, no_names).lines().count(), 1);
    assert_eq!(events.drain(0, no_names), "");
}

#[test]
fn partial_drains_across_chunks_keep_every_event_in_order() {
    let events = Events::new(100_000, false);
    // About 94 events to a chunk (700 bytes of filler for 64 KiB chunks). Under Miri,
    // 1 KiB chunks hold about 17 and a tenth of the events crosses six of them.
    let filler = "x".repeat(CHUNK_BYTES / 94);
    let (n, drains): (i64, [usize; 6]) =
        if cfg!(miri) { (100, [1, 7, 9, 10, 25, 48]) } else { (1_000, [1, 7, 93, 94, 250, 555]) };
    for i in 0..n {
        let pairs = [(Sym(0), Sym(1)), (Sym(0), Sym(2)), (Sym(0), Sym(1))];
        if i % 3 == 0 {
            events.emit_exposure(i, Sym(0), Sym(1), &format!("{i}{filler}"), names);
        } else if i % 3 == 1 {
            let attributed = &pairs[..(i as usize / 3) % 4];
            events.emit_track(i, &format!("{i}{filler}"), "revenue", i as f64 / 4.0, attributed, names);
        } else {
            events.emit("test", i, json!({"i": i, "pad": filler}));
        }
    }
    let mut seen = Vec::new();
    for max in drains {
        let out = events.drain(max, names);
        assert!(out.ends_with('\n'));
        assert_eq!(out.lines().count(), max);
        for line in out.lines() {
            let event = serde_json::from_str::<Value>(line).unwrap();
            let i = event["time_ms"].as_i64().unwrap();
            if event["type"] == "track" {
                assert_eq!(event["user_id"], format!("{i}{filler}"));
                assert_eq!(event["value"], i as f64 / 4.0);
                let attributed = event["attributed"].as_array().unwrap();
                assert_eq!(attributed.len(), (i as usize / 3) % 4, "{line}");
                let variants = ["control", "treatment", "control"];
                for (a, variant) in attributed.iter().zip(variants) {
                    assert_eq!(a, &json!({"experiment": "exp", "variant": variant}));
                }
            }
            seen.push(i);
        }
    }
    assert_eq!(events.pending(), 0);
    assert_eq!(seen, (0..n).collect::<Vec<_>>());
    // Chunks emptied by the drains are reused.
    events.emit("again", 0, json!({}));
    assert_eq!(events.drain(0, no_names).lines().count(), 1);
}

#[test]
fn events_larger_than_a_chunk_drain_whole() {
    let events = Events::new(100, false);
    let long_id = "u".repeat(3 * CHUNK_BYTES);
    let long_text = "t".repeat(2 * CHUNK_BYTES);
    events.emit("small", 1, json!({}));
    events.emit_exposure(2, Sym(0), Sym(1), &long_id, names);
    events.emit("big", 3, json!({"text": long_text}));
    events.emit("small", 4, json!({}));
    let out = events.drain(0, names);
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[1]["user_id"].as_str().unwrap().len(), long_id.len());
    assert_eq!(lines[2]["text"].as_str().unwrap(), long_text);
    assert_eq!(lines[3]["time_ms"], 4);
}

#[test]
fn integers_print_like_the_formatter() {
    for n in [0i64, 1, -1, 9, 10, 99, 1_700_000_000_000, i64::MIN, i64::MAX] {
        let mut out = String::new();
        push_i64(&mut out, n);
        assert_eq!(out, n.to_string());
    }
    let mut out = String::new();
    push_u64(&mut out, u64::MAX);
    assert_eq!(out, u64::MAX.to_string());
}

#[test]
fn replacing_the_listener_waits_for_deliveries_in_progress() {
    use std::sync::atomic::AtomicUsize;
    let events = Arc::new(Events::new(10, false));
    let (entered, finished) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
    let (e, f) = (entered.clone(), finished.clone());
    events
        .set_listener(Some(Arc::new(move |_: &str| {
            e.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(100));
            f.store(true, Ordering::SeqCst);
        })))
        .unwrap();
    let producer = {
        let events = events.clone();
        std::thread::spawn(move || events.emit("slow", 1, json!({})))
    };
    while entered.load(Ordering::SeqCst) == 0 {
        std::thread::yield_now();
    }
    events.set_listener(None).unwrap();
    assert!(finished.load(Ordering::SeqCst), "set_listener returned while a delivery was running");
    producer.join().unwrap();
}

#[test]
fn a_listener_cannot_replace_itself_and_its_own_events_are_queued() {
    let events = Arc::new(Events::new(10, false));
    let inner = Arc::downgrade(&events);
    let outcome = Arc::new(Mutex::new(None));
    let out = outcome.clone();
    events
        .set_listener(Some(Arc::new(move |_: &str| {
            let events = inner.upgrade().unwrap();
            events.emit("from-inside", 2, json!({}));
            *out.lock().unwrap() = Some(events.set_listener(None));
        })))
        .unwrap();
    events.emit("outside", 1, json!({}));
    assert_eq!(*outcome.lock().unwrap(), Some(Err(ListenerBusy)));
    assert_eq!(events.drain(0, no_names), "{\"type\":\"from-inside\",\"seq\":2,\"time_ms\":2,\"schema\":1}\n");
    // Outside a delivery, replacing works.
    events.set_listener(None).unwrap();
}

#[test]
fn nested_deliveries_reach_other_streams_queue_their_own_and_unwind_after_a_panic() {
    let (outer, inner) = (Arc::new(Events::new(10, false)), Arc::new(Events::new(10, false)));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (sink, back_to_outer) = (seen.clone(), Arc::downgrade(&outer));
    // The inner stream's listener emits into the outer one, whose delivery it is inside.
    inner
        .set_listener(Some(Arc::new(move |line: &str| {
            sink.lock().unwrap().push(format!("inner {line}"));
            back_to_outer.upgrade().unwrap().emit("from-inner", 3, json!({}));
        })))
        .unwrap();
    let (sink, to_inner) = (seen.clone(), Arc::downgrade(&inner));
    outer
        .set_listener(Some(Arc::new(move |line: &str| {
            sink.lock().unwrap().push(format!("outer {line}"));
            let inner = to_inner.upgrade().unwrap();
            assert!(!inner.inside_listener());
            inner.emit("from-outer", 2, json!({}));
            if line.contains("\"panic\"") {
                panic!("listener failed");
            }
        })))
        .unwrap();
    outer.emit("first", 1, json!({}));
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "outer {\"type\":\"first\",\"seq\":1,\"time_ms\":1,\"schema\":1}",
            "inner {\"type\":\"from-outer\",\"seq\":1,\"time_ms\":2,\"schema\":1}",
        ]
    );
    assert_eq!(outer.drain(0, no_names), "{\"type\":\"from-inner\",\"seq\":2,\"time_ms\":3,\"schema\":1}\n");
    assert!(!outer.inside_listener() && !inner.inside_listener());
    // A listener that panics leaves no delivery behind on this thread.
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| outer.emit("panic", 4, json!({}))));
    assert!(panicked.is_err());
    assert!(!outer.inside_listener() && !inner.inside_listener());
    seen.lock().unwrap().clear();
    outer.emit("after", 5, json!({}));
    assert_eq!(seen.lock().unwrap().len(), 2, "delivered, not queued: {:?}", seen.lock().unwrap());
    assert_eq!(outer.drain(0, no_names).lines().count(), 2, "the inner listener's two emits into the outer stream");
}

#[test]
fn listener_receives_events_instead_of_the_queue() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let events = Events::new(10, false);
    events.set_listener(Some(Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned())))).unwrap();
    events.emit("a", 1, json!({}));
    events.set_listener(None).unwrap();
    events.emit("b", 2, json!({}));
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(events.pending(), 1);
}

#[test]
fn track_events_carry_the_attributions_and_the_instance() {
    let events = Events::new(100, false).with_stream(Some("engine-\"3\""), true);
    assert!(events.track_events());
    events.emit_track(10, "u1", "spend", 12.25, &[(Sym(0), Sym(2)), (Sym(0), Sym(1))], names);
    events.emit_track(11, "u2", "spend", -0.1, &[], names);
    events.emit_exposure(12, Sym(0), Sym(1), "u3", names);
    let lines: Vec<Value> = events.drain(0, names).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(
        lines,
        [
            json!({"type": "track", "seq": 1, "time_ms": 10, "schema": 1, "instance_id": "engine-\"3\"", "user_id": "u1",
                   "metric": "spend", "value": 12.25,
                   "attributed": [{"experiment": "exp", "variant": "treatment"}, {"experiment": "exp", "variant": "control"}]}),
            json!({"type": "track", "seq": 2, "time_ms": 11, "schema": 1, "instance_id": "engine-\"3\"", "user_id": "u2",
                   "metric": "spend", "value": -0.1, "attributed": []}),
            json!({"type": "exposure", "seq": 3, "time_ms": 12, "schema": 1, "instance_id": "engine-\"3\"",
                   "experiment": "exp", "user_id": "u3", "variant": "control"}),
        ]
    );
    assert_eq!(events.first_exposure_ms(), Some(12));
    events.set_track_events(false);
    assert!(!events.track_events());
}

#[test]
fn numbers_read_back_exactly() {
    for x in [0.0, -0.0, 0.1, 1e15, -1e15, 123.456, 1e-7, 5e-324, f64::MAX / 1e300] {
        let mut out = String::new();
        super::text::push_f64(&mut out, x);
        let back: f64 = serde_json::from_str(&out).unwrap();
        assert_eq!(back.to_bits(), x.to_bits(), "{out}");
    }
}

#[test]
fn strings_are_escaped_at_every_length_and_position() {
    for n in 1..40 {
        for at in 0..n {
            for bad in ['\0', '\u{1f}', '\n', '"', '\\'] {
                let mut text: Vec<char> = vec!['a'; n];
                text[at] = bad;
                let text: String = text.into_iter().collect();
                let mut out = String::new();
                push_json_string(&mut out, &text);
                assert_eq!(serde_json::from_str::<String>(&out).ok().as_deref(), Some(text.as_str()), "{out}");
            }
        }
    }
    // The characters next to those that need escaping do not.
    let plain = " !#[]~\u{7f}é€";
    let mut out = String::new();
    push_json_string(&mut out, plain);
    assert_eq!(out, format!("\"{plain}\""));
}
