-- latest_result is written behind the raw rows: the writer keeps the newest result of each
-- series in memory and flushes them every couple of seconds (one update per series, not one per
-- result). latest_flushed_counter is the result counter at the last flush: every raw row with a
-- lower counter is reflected in latest_result. At start the store replays the rows from that
-- counter on (a crash between flushes), so the table is right before anything reads it.
-- Until now latest_result was written in every ingest transaction: it is flushed up to the counter.
INSERT INTO store_meta (meta_key, meta_value)
    SELECT 'latest_flushed_counter', meta_value FROM store_meta WHERE meta_key = 'result_counter';
