-- An experiment's sufficient statistics from ff_events (events.sql), by the in-process
-- tracker's rules (docs/fleet.md), the same query as sql/clickhouse/aggregates.sql:
--   * a user's first exposure (earliest time_ms, a tie across instances going to the
--     smaller instance id, then seq) decides the variant, later exposures change nothing
--   * a track event is attributed when it comes after that exposure: on the same instance
--     by seq, across instances by time_ms (a tie counts as after)
--   * conversions count once per user, values sum per user, then the sums and sums of
--     squares of those totals are taken per variant
-- ${experiment} is the experiment's key (spark-sql: --hivevar experiment=one-click).
-- One row per variant with metric = '' and its users, then one row per variant and
-- tracked metric with users_with_events (conversions), sum, sum_squares and events.
WITH stamped AS (
    SELECT type, seq, time_ms, user_id, variant, metric, value, experiment,
           coalesce(instance_id, concat(char(0), 'file ', source)) AS stream
    FROM ff_events
    WHERE schema = 1
),
exposed AS (
    SELECT user_id,
           min_by(variant, struct(time_ms, stream, seq)) AS variant,
           min_by(time_ms, struct(time_ms, stream, seq)) AS first_time,
           min_by(stream, struct(time_ms, stream, seq)) AS first_stream,
           min_by(seq, struct(time_ms, stream, seq)) AS first_seq
    FROM stamped
    WHERE type = 'exposure' AND experiment = '${experiment}'
    GROUP BY user_id
),
attributed AS (
    SELECT e.variant AS variant, t.metric AS metric, t.user_id AS user_id, t.value AS value
    FROM (SELECT user_id, metric, value, time_ms, seq, stream FROM stamped WHERE type = 'track') AS t
    INNER JOIN exposed AS e ON t.user_id = e.user_id
    WHERE (t.stream = e.first_stream AND t.seq > e.first_seq)
       OR (t.stream != e.first_stream AND t.time_ms >= e.first_time)
),
per_user AS (
    SELECT variant, metric, user_id, sum(value) AS total, count(*) AS events
    FROM attributed
    GROUP BY variant, metric, user_id
)
SELECT variant, '' AS metric, count(*) AS users, 0 AS users_with_events,
       0.0D AS sum, 0.0D AS sum_squares, 0 AS events
FROM exposed
GROUP BY variant
UNION ALL
SELECT variant, metric, 0 AS users, count(*) AS users_with_events,
       sum(total) AS sum, sum(total * total) AS sum_squares, sum(events) AS events
FROM per_user
GROUP BY variant, metric
ORDER BY variant, metric;
