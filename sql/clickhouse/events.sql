-- The featureflags event stream (docs/events.md, schema 1) as a ClickHouse table: one row
-- per NDJSON line, the fields an experiment analysis reads. Other fields (`attributed`,
-- rollout and config details) are skipped when loading, missing ones load as defaults
-- (an absent instance_id as '').
CREATE TABLE IF NOT EXISTS ff_events
(
    type        LowCardinality(String),
    seq         UInt64,
    time_ms     Int64,
    schema      UInt32,
    instance_id LowCardinality(String),
    experiment  LowCardinality(String),
    user_id     String,
    variant     LowCardinality(String),
    metric      LowCardinality(String),
    value       Float64,
    -- The file a line came from: orders events of a process that wrote no instance_id.
    source      LowCardinality(String)
)
ENGINE = MergeTree
ORDER BY (type, user_id, time_ms);

-- Load drained NDJSON files (clickhouse-local, chdb or a server with file access; a server
-- would rather read from s3(...) or a Kafka table into the same columns):
--   INSERT INTO ff_events
--   SELECT type, seq, time_ms, schema, instance_id, experiment, user_id, variant, metric, value, _file
--   FROM file('logs/*.ndjson', 'JSONEachRow',
--             'type String, seq UInt64, time_ms Int64, schema UInt32, instance_id String,
--              experiment String, user_id String, variant Nullable(String), metric String, value Float64')
--   SETTINGS input_format_skip_unknown_fields = 1, input_format_null_as_default = 1;
