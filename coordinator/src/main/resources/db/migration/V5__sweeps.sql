-- Finished sweeps, so `sweep list` and `sweep watch ID` still show them after a coordinator restart.
-- The summary columns serve the listing; status holds the final probemesh.v1.SweepStatus bytes
-- (with its cells) for showing one sweep again.

CREATE TABLE sweep (
    sweep_id        VARCHAR(64)  NOT NULL PRIMARY KEY,
    started_at_ms   BIGINT       NOT NULL,
    finished_at_ms  BIGINT       NOT NULL,
    state           VARCHAR(16)  NOT NULL,
    cells_total     INT          NOT NULL,
    cells_done      INT          NOT NULL,
    stretched       BOOLEAN      NOT NULL,
    status          VARBINARY(67108864) NOT NULL  -- probemesh.v1.SweepStatus bytes, final, with cells
);

CREATE INDEX sweep_started ON sweep (started_at_ms);
