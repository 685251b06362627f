-- Identity (issue 3): join tokens, enrolled agent identities and the certificates issued to them.
-- Tables are prefixed identity_ so they never collide with the store's own tables.

-- A join token is "pmjt_<id>.<secret>"; only the SHA-256 of the secret is kept, so a copy of the
-- database does not let anyone enroll.
CREATE TABLE identity_join_token (
    id            VARCHAR(32)   NOT NULL PRIMARY KEY,
    secret_sha256 VARCHAR(64)   NOT NULL,
    site          VARCHAR(255)  NOT NULL,
    labels_json   VARCHAR(8000) NOT NULL,
    agent_name    VARCHAR(63),              -- NULL: any name; else the token re-enrolls only this name
    created_ms    BIGINT        NOT NULL,
    expires_ms    BIGINT        NOT NULL,
    uses_total    INT           NOT NULL,
    uses_left     INT           NOT NULL,
    revoked       BOOLEAN       NOT NULL DEFAULT FALSE
);

-- One row per agent name that ever enrolled; revoked_ms marks an admin's revocation (cleared by a
-- re-enrollment with a token bound to that name).
CREATE TABLE identity_agent (
    name          VARCHAR(63)   NOT NULL PRIMARY KEY,
    site          VARCHAR(255)  NOT NULL,
    labels_json   VARCHAR(8000) NOT NULL,
    enrolled_ms   BIGINT        NOT NULL,
    revoked_ms    BIGINT
);

-- Every certificate issued to an agent, so a revocation covers all of them and an unknown serial
-- (a certificate this database never saw) is refused.
CREATE TABLE identity_agent_cert (
    serial        VARCHAR(64)   NOT NULL PRIMARY KEY,   -- lower-case hex
    agent_name    VARCHAR(63)   NOT NULL,
    issued_ms     BIGINT        NOT NULL,
    not_after_ms  BIGINT        NOT NULL,
    revoked       BOOLEAN       NOT NULL DEFAULT FALSE
);
CREATE INDEX identity_agent_cert_name ON identity_agent_cert (agent_name);
