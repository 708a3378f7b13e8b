-- The featureflags event stream (docs/events.md, schema 1) as Spark SQL views over the
-- drained NDJSON files: the fields an experiment analysis reads, other fields ignored.
-- ${events} is the files' path or glob (spark-sql: --hivevar events='logs/*.ndjson').
CREATE OR REPLACE TEMPORARY VIEW ff_events_raw
    (type STRING, seq BIGINT, time_ms BIGINT, schema INT, instance_id STRING, experiment STRING,
     user_id STRING, variant STRING, metric STRING, value DOUBLE)
USING json
OPTIONS (path '${events}', mode 'FAILFAST');

-- The file a line came from orders events of a process that wrote no instance_id.
CREATE OR REPLACE TEMPORARY VIEW ff_events AS
SELECT *, input_file_name() AS source FROM ff_events_raw;
