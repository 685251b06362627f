/**
 * The coordinator's store (DESIGN.md, "Identity, time and data"): embedded H2 with Flyway
 * migrations in {@code classpath:db/migration} (V1 store, V2 identity, V4 latest by series,
 * V5 sweeps, V6 schedules, V7 latest flush mark).
 *
 * <p>Decisions worth knowing before changing it:
 * <ul>
 *   <li>One writer. {@link dev.probemesh.coordinator.store.Store} funnels every write through one
 *       connection under a lock; {@code ingestMany} commits many agents' batches at once (group
 *       commit), and every commit reaches the file before it returns (WRITE_DELAY=0), so an ack
 *       sent after it survives a coordinator crash (checked by kill -9 after acks).</li>
 *   <li>Idempotence by high-water mark: {@code ingest_hwm} holds the highest seq per (agent,
 *       incarnation); a result at or below it is a duplicate. No merge per raw row.</li>
 *   <li>Raw rows are clustered by corrected minute: {@code result_id} = minute &lt;&lt; 37 | a
 *       persisted counter. Time-range reads, hourly rollups and purges are primary-key range
 *       scans, and inserts maintain no secondary index.</li>
 *   <li>{@code latest_result} is (series id, corrected time, result id), updated only by a newer
 *       corrected time; series ids for (agent, check) are cached in memory by the writer. It is
 *       written behind the raw rows: each series at most once per 2 s flush (V7's
 *       {@code latest_flushed_counter} marks how far), readers and deletes flush first, and
 *       opening the store replays the raw rows committed after the last flush (a crash).</li>
 *   <li>Results of unknown check ids are stored (a just-deleted check, an ad-hoc sweep check).</li>
 *   <li>Deleted checks stay as tombstones, so a re-created id continues its revision count.</li>
 *   <li>SQL is standard (MERGE ... USING VALUES, OFFSET/FETCH); what differs per database is in
 *       {@link dev.probemesh.coordinator.store.SqlDialect}. PostgreSQL needs its own migrations
 *       (VARBINARY is BYTEA there) and a counter per coordinator in result ids.</li>
 * </ul>
 */
package dev.probemesh.coordinator.store;
