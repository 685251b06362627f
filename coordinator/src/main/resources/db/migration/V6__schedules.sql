-- Cron schedules of sweeps (`probemesh schedule add`), kept across coordinator restarts.
-- next_run_ms is stored so that a run missed while the coordinator was down is noticed at start
-- (and run once, not once per missed slot). The last run's outcome is read from its sweep.

CREATE TABLE sweep_schedule (
    schedule_id    VARCHAR(64)   NOT NULL PRIMARY KEY,
    name           VARCHAR(128)  NOT NULL,
    cron           VARCHAR(256)  NOT NULL,
    time_zone      VARCHAR(64)   NOT NULL,   -- IANA id
    selector       VARCHAR(1024) NOT NULL,   -- k=v,k2=v2; '' = every connected agent
    check_ids      VARCHAR(4000) NOT NULL,   -- comma-separated; '' = every stored check at fire time
    timeout_ms     INT           NOT NULL,   -- 0 = derived by the sweep
    created_at_ms  BIGINT        NOT NULL,
    next_run_ms    BIGINT        NOT NULL,
    last_run_ms    BIGINT        NOT NULL,   -- 0 = never
    last_sweep_id  VARCHAR(64)   NOT NULL,   -- '' = never
    CONSTRAINT sweep_schedule_name UNIQUE (name)
);
