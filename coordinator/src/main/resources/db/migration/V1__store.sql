-- The coordinator's core store: agents, checks with revisions, raw and latest results, the
-- per-incarnation ingest high-water marks, hourly rollups and verdict history.
-- Times are epoch milliseconds in BIGINT columns: portable, cheap to compare and index, and
-- free of session time zones. Upserts are standard MERGE statements issued by the Java code.

-- Small counters that must survive restarts (checks_version: bumped on every check change).
CREATE TABLE store_meta (
    meta_key   VARCHAR(64) NOT NULL PRIMARY KEY,
    meta_value BIGINT      NOT NULL
);
INSERT INTO store_meta (meta_key, meta_value) VALUES ('checks_version', 0);
-- The low bits of the next probe_result.result_id (see below).
INSERT INTO store_meta (meta_key, meta_value) VALUES ('result_counter', 0);

CREATE TABLE agent (
    agent_name    VARCHAR(128)  NOT NULL PRIMARY KEY,
    site          VARCHAR(128)  NOT NULL,
    labels_json   VARCHAR(8192) NOT NULL,
    version       VARCHAR(128)  NOT NULL,
    capabilities  VARBINARY(65536),           -- probemesh.v1.Capabilities bytes
    first_seen_ms BIGINT        NOT NULL,
    last_seen_ms  BIGINT        NOT NULL,
    clock_skew_ms BIGINT        NOT NULL      -- agent clock minus coordinator clock
);

-- Every check ever applied. A deleted check stays as a tombstone so that re-creating the same id
-- continues its revision count: results carry the revision they ran, and revisions must not repeat.
CREATE TABLE check_def (
    check_id      VARCHAR(128)     NOT NULL PRIMARY KEY,
    revision      INTEGER          NOT NULL,
    spec          VARBINARY(1048576) NOT NULL, -- probemesh.v1.Check bytes, revision field cleared
    deleted       BOOLEAN          NOT NULL,
    updated_at_ms BIGINT           NOT NULL
);

-- Dedupe without a merge per row: results of (agent, incarnation) with seq <= high_water_seq are
-- already committed.
CREATE TABLE ingest_hwm (
    agent_name     VARCHAR(128) NOT NULL,
    incarnation    VARCHAR(128) NOT NULL,
    high_water_seq BIGINT       NOT NULL,
    updated_at_ms  BIGINT       NOT NULL,
    PRIMARY KEY (agent_name, incarnation)
);

-- Raw results, kept for the retention window. result_id is assigned by the store:
--   (minute of corrected_at_ms since the epoch) << 37 | (a counter persisted in store_meta)
-- so the table is clustered by corrected time. Range reads (correlation window, rollups) and
-- purges are primary-key range scans, and no secondary index has to be maintained on the hot
-- insert path. The (agent, incarnation, seq) identity is enforced by ingest_hwm.
CREATE TABLE probe_result (
    result_id       BIGINT        NOT NULL PRIMARY KEY,
    agent_name      VARCHAR(128)  NOT NULL,
    incarnation     VARCHAR(128)  NOT NULL,
    seq             BIGINT        NOT NULL,
    check_id        VARCHAR(128)  NOT NULL,
    check_revision  INTEGER       NOT NULL,
    observed_at_ms  BIGINT        NOT NULL,  -- agent clock
    corrected_at_ms BIGINT        NOT NULL,  -- observed_at_ms minus the agent's estimated skew
    received_at_ms  BIGINT        NOT NULL,  -- coordinator clock
    status          VARCHAR(16)   NOT NULL,  -- ProbeStatus name
    failure         VARCHAR(64),             -- FailureCode name, NULL when none
    detail          VARCHAR(512)  NOT NULL,
    latency_us      BIGINT        NOT NULL,  -- Timings.total_us
    address         VARCHAR(128)  NOT NULL,
    family          VARCHAR(8)    NOT NULL,  -- ipv4 | ipv6 | any
    attributes_json VARCHAR(8192) NOT NULL,
    sweep_id        VARCHAR(128)
);

-- The newest result per (agent, check), by corrected time: what the matrix shows. It points at
-- the raw row instead of copying it: every ingest commit rewrites the pages it touches, and
-- small rows keep that rewrite small. Rows older than the retention window are purged with the
-- raw rows they point at (such a cell has been silent for a week: MISSING).
CREATE TABLE latest_result (
    agent_name      VARCHAR(128)  NOT NULL,
    check_id        VARCHAR(128)  NOT NULL,
    corrected_at_ms BIGINT        NOT NULL,
    result_id       BIGINT        NOT NULL,
    PRIMARY KEY (agent_name, check_id)
);

-- Per check x agent x UTC hour: counts, failures by code and latency percentiles of the
-- successful runs (OK, DEGRADED), computed from raw results before they are purged.
CREATE TABLE result_rollup (
    check_id        VARCHAR(128)  NOT NULL,
    hour_start_ms   BIGINT        NOT NULL,
    agent_name      VARCHAR(128)  NOT NULL,
    result_count    BIGINT        NOT NULL,
    ok_count        BIGINT        NOT NULL,
    failures        VARCHAR(4096) NOT NULL,  -- CODE=count,CODE=count (sorted by code)
    latency_samples BIGINT        NOT NULL,
    latency_p50_ms  DOUBLE PRECISION NOT NULL,
    latency_p90_ms  DOUBLE PRECISION NOT NULL,
    latency_p99_ms  DOUBLE PRECISION NOT NULL,
    latency_max_ms  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (check_id, hour_start_ms, agent_name)
);

-- Hours already rolled up, so that rolling up is idempotent.
CREATE TABLE rollup_hour (
    hour_start_ms    BIGINT NOT NULL PRIMARY KEY,
    rolled_up_at_ms  BIGINT NOT NULL,
    result_count     BIGINT NOT NULL
);

CREATE TABLE verdict (
    verdict_id    VARCHAR(128) NOT NULL PRIMARY KEY,
    kind          VARCHAR(64)  NOT NULL,
    state         VARCHAR(16)  NOT NULL,
    opened_at_ms  BIGINT       NOT NULL,
    closed_at_ms  BIGINT,
    site          VARCHAR(128),
    payload       VARBINARY(1048576) NOT NULL, -- probemesh.v1.Verdict bytes
    updated_at_ms BIGINT       NOT NULL
);
CREATE INDEX verdict_state_idx ON verdict (state, closed_at_ms);
