#!/usr/bin/env python3
"""The fleet test (docs/fleet.md): four engines in separate processes, users overlapping
between them, a known true effect, events in NDJSON files. Checks that

1. the embedded reader, ClickHouse SQL (chdb) and Spark SQL (pyspark, local mode) give
   identical analysis inputs from the four processes' events;
2. the analysis of that input equals, field by field, the results of one engine that saw
   every user itself (same user ids, same actions at the same times);
3. per-process aggregates of overlapping processes are refused by the merge, and those of
   processes with partitioned users merge into exactly the single engine's counts and
   analysis;
4. the true effect is found.

Prints the events and users. The reader's throughput is a benchmark (`fleet bench` in
scripts/bench.sh), not part of this test. Run by tests/fleet/run.sh, which provides the
virtualenv and the example binary.
Usage: fleet_test.py --bin target/debug/examples/fleet [--users N] [--skip-spark]
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CONFIG = os.path.join(HERE, "config.json")
EXPERIMENT = "one-click"
PROCESSES = 4
LOAD_COLUMNS = ("type String, seq UInt64, time_ms Int64, schema UInt32, instance_id String, experiment String, "
                "user_id String, variant Nullable(String), metric String, value Float64")


def statements(path, **variables):
    """The statements of a SQL file: comment lines dropped, ${name} substituted."""
    with open(path) as f:
        text = "\n".join(line for line in f.read().splitlines() if not line.lstrip().startswith("--"))
    for name, value in variables.items():
        text = text.replace("${%s}" % name, value)
    return [s for s in text.split(";") if s.strip()]


def run(args, **kwargs):
    return subprocess.run(args, check=True, text=True, capture_output=True, **kwargs)


def simulate(binary, work, users, routing):
    """Starts the four engines (and, for the first routing, the single engine of every
    user) as separate processes; returns the paths they write."""
    procs, outputs = [], {}
    for p in list(range(PROCESSES)) + (["all"] if routing == "overlap" else []):
        name = f"{routing}-{p}" if p != "all" else "all"
        events, aggregates = os.path.join(work, name + ".ndjson"), os.path.join(work, name + ".json")
        cmd = [binary, "sim", "--config", CONFIG, "--experiment", EXPERIMENT, "--users", str(users),
               "--processes", str(PROCESSES), "--process", str(p), "--routing", routing,
               "--events", events, "--aggregates", aggregates]
        if p == "all":
            cmd += ["--results", os.path.join(work, "truth-results.json")]
        procs.append(subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True))
        outputs[p] = (events, aggregates)
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            sys.exit(f"fleet sim failed: {err}")
    return outputs


def counts_from_rows(rows, template):
    """Aggregates like the reader's `template` with the counts of SQL result rows."""
    agg = json.loads(json.dumps(template))
    kinds = {m["name"]: m["kind"] for m in agg["spec"]["metrics"]}
    for variant in agg["variants"].values():
        variant["users"] = 0
        for counts in variant["metrics"].values():
            counts.update(conversions=0, sum=0.0, sum_squares=0.0, events=0)
    for row in rows:
        variant = agg["variants"][row["variant"]]
        if row["metric"] == "":
            variant["users"] = int(row["users"])
        elif row["metric"] in kinds:
            conversion = kinds[row["metric"]] == "conversion"
            variant["metrics"][row["metric"]].update(
                conversions=int(row["users_with_events"]),
                sum=0.0 if conversion else float(row["sum"]),
                sum_squares=0.0 if conversion else float(row["sum_squares"]),
                events=int(row["events"]))
    return agg


def clickhouse(pattern):
    import chdb  # noqa: F401  (the session below is chdb's)
    from chdb import session
    db = session.Session(tempfile.mkdtemp(prefix="ff-chdb-"))
    for s in statements(os.path.join(ROOT, "sql/clickhouse/events.sql")):
        db.query(s)
    db.query(f"""INSERT INTO ff_events
        SELECT type, seq, time_ms, schema, instance_id, experiment, user_id, variant, metric, value, _file
        FROM file('{pattern}', 'JSONEachRow', '{LOAD_COLUMNS}')
        SETTINGS input_format_skip_unknown_fields = 1, input_format_null_as_default = 1""")
    (query,) = statements(os.path.join(ROOT, "sql/clickhouse/aggregates.sql"))
    out = db.query(query, "JSONEachRow", params={"experiment": EXPERIMENT})
    rows = [json.loads(line) for line in str(out).splitlines() if line.strip()]
    db.close()
    return rows


def spark(pattern):
    # Local mode: no address lookup, no warning about the host's name.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession
    session = (SparkSession.builder.master("local[2]").appName("featureflags-fleet-test")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "4").config("spark.driver.memory", "1g")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    try:
        for s in statements(os.path.join(ROOT, "sql/spark/events.sql"), events=pattern):
            session.sql(s)
        (query,) = statements(os.path.join(ROOT, "sql/spark/aggregates.sql"), experiment=EXPERIMENT)
        return [r.asDict() for r in session.sql(query).collect()]
    finally:
        session.stop()


def analysis(binary, work, aggregates_path, name):
    doc = run([binary, "doc", aggregates_path]).stdout
    doc_path = os.path.join(work, name + "-doc.json")
    with open(doc_path, "w") as f:
        f.write(doc)
    return json.loads(doc), json.loads(run([binary, "analyze", doc_path]).stdout)


def same_fields(got, want, path="$"):
    """Every difference between two JSON values, by path (floats compared exactly)."""
    if isinstance(want, dict) and isinstance(got, dict):
        diffs = [f"{path}.{k}: missing" for k in want if k not in got]
        diffs += [f"{path}.{k}: unexpected" for k in got if k not in want]
        for k in want:
            if k in got:
                diffs += same_fields(got[k], want[k], f"{path}.{k}")
        return diffs
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        return [d for i, (g, w) in enumerate(zip(got, want)) for d in same_fields(g, w, f"{path}[{i}]")]
    return [] if got == want and type(got) is type(want) else [f"{path}: {got!r} != {want!r}"]


def check(ok, message):
    if not ok:
        sys.exit(f"FAIL: {message}")
    print(f"ok: {message}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--users", type=int, default=int(os.environ.get("FF_FLEET_USERS", "20000")))
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    started = time.monotonic()
    lap = [started]

    def timing(step):
        now = time.monotonic()
        print(f"  ({step}: {now - lap[0]:.1f} s)")
        lap[0] = now

    with tempfile.TemporaryDirectory(prefix="ff-fleet-") as work:
        overlap = simulate(binary, work, args.users, "overlap")
        partition = simulate(binary, work, args.users, "partition")
        timing("5 + 4 engine processes")
        pattern = os.path.join(work, "overlap-*.ndjson")
        events = sum(sum(1 for _ in open(p)) for p in glob.glob(pattern))

        # 1. Three readers, one analysis input.
        read_path = os.path.join(work, "read.json")
        stats = json.loads(run([binary, "read", "--config", CONFIG, "--experiment", EXPERIMENT,
                                "--aggregates", read_path, pattern]).stdout)
        with open(read_path) as f:
            embedded = json.load(f)
        check(stats["events"] == events, f"the reader read all {events} events of {PROCESSES} processes")
        ch = counts_from_rows(clickhouse(pattern), embedded)
        timing("embedded reader + ClickHouse (chdb)")
        sp = counts_from_rows(spark(pattern), embedded)
        timing("Spark SQL (local)")
        docs = {}
        for name, agg in [("embedded", embedded), ("clickhouse", ch), ("spark", sp)]:
            path = os.path.join(work, name + "-agg.json")
            with open(path, "w") as f:
                json.dump(agg, f)
            docs[name] = analysis(binary, work, path, name)
        check(docs["clickhouse"][0] == docs["embedded"][0], "ClickHouse SQL gives the embedded reader's analysis input")
        check(docs["spark"][0] == docs["embedded"][0], "Spark SQL gives the embedded reader's analysis input")

        # 2. Equal to one engine that saw every user.
        with open(overlap["all"][1]) as f:
            truth = json.load(f)
        with open(os.path.join(work, "truth-results.json")) as f:
            truth_results = json.load(f)
        check(embedded["variants"] == truth["variants"], "the reader's counts equal the single engine's")
        report = docs["embedded"][1]
        diffs = same_fields(report["metrics"], truth_results["metrics"], "metrics")
        for key in ("primary_metric", "guardrails", "fdr", "decision_notes"):
            diffs += same_fields(report[key], truth_results[key], key)
        check(not diffs, "ff_analyze_json of the fleet's input equals the single engine's results field by field"
              + ("" if not diffs else ": " + "; ".join(diffs[:5])))

        # 3. Per-process merges.
        merged = os.path.join(work, "merged.json")
        refused = subprocess.run([binary, "merge", "--out", merged] + [overlap[p][1] for p in range(PROCESSES)],
                                 text=True, capture_output=True)
        check(refused.returncode == 3 and "inputs overlap" in refused.stderr,
              "the merge refuses overlapping processes: " + refused.stderr.strip().splitlines()[-1][:120])
        run([binary, "merge", "--out", merged] + [partition[p][1] for p in range(PROCESSES)])
        with open(merged) as f:
            merged_agg = json.load(f)
        check(merged_agg["variants"] == truth["variants"], "the partitioned processes' merge equals the single engine")
        diffs = same_fields(analysis(binary, work, merged, "merged")[1]["metrics"], truth_results["metrics"])
        check(not diffs, "and so does its analysis, field by field")

        # 4. The known effect.
        buy = truth_results["metrics"]["buy"]["variants"]
        treated = next(v for v in buy if v["name"] == "treatment")
        control = next(v for v in buy if v["name"] == "control")
        check(treated["vs_control"]["significant"] and 0.1 < treated["vs_control"]["relative_uplift"] < 0.6,
              f"the true effect (10% -> 13%) is found: {control['rate']:.4f} -> {treated['rate']:.4f}, "
              f"p = {treated['vs_control']['p_value']:.2g}")

        users = sum(v["users"] for v in truth["variants"].values())
        print(f"fleet: {events} events from {PROCESSES} processes, {users} users exposed "
              f"({args.users} simulated), {stats['bytes'] / 1e6:.1f} MB")
        timing("merges, analyses")
    print(f"fleet test: {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
