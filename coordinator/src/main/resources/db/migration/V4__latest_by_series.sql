-- Re-keys the latest-result table by a numeric series id (one per agent x check). Every ingest
-- commit updates one latest row per (agent, check) it saw; on a single BIGINT primary key that
-- is one clustered B-tree update, where the (agent_name, check_id) key cost a secondary-index
-- lookup and rewrite per row. The store keeps the series ids in memory (it is the only writer).

CREATE TABLE result_series (
    series_id  BIGINT       NOT NULL PRIMARY KEY,
    agent_name VARCHAR(128) NOT NULL,
    check_id   VARCHAR(128) NOT NULL,
    CONSTRAINT result_series_key UNIQUE (agent_name, check_id)
);

INSERT INTO result_series (series_id, agent_name, check_id)
    SELECT ROW_NUMBER() OVER (ORDER BY agent_name, check_id), agent_name, check_id
    FROM latest_result;

CREATE TABLE latest_result_by_series (
    series_id       BIGINT NOT NULL PRIMARY KEY,
    corrected_at_ms BIGINT NOT NULL,
    result_id       BIGINT NOT NULL
);

INSERT INTO latest_result_by_series (series_id, corrected_at_ms, result_id)
    SELECT s.series_id, l.corrected_at_ms, l.result_id
    FROM latest_result l
    JOIN result_series s ON s.agent_name = l.agent_name AND s.check_id = l.check_id;

DROP TABLE latest_result;
ALTER TABLE latest_result_by_series RENAME TO latest_result;
