package dev.probemesh.coordinator.ingest;

import dev.probemesh.coordinator.store.IngestBatch;
import dev.probemesh.coordinator.store.IngestOutcome;
import dev.probemesh.coordinator.store.Store;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store's single writer. Agent streams hand their batches here; one thread drains whatever
 * has queued and commits it in one transaction (group commit), then calls each batch back with
 * its outcome so the stream can ack. Streams request their next message only after the
 * callback, so a slow store slows the agents down instead of filling memory.
 */
public final class Ingestor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Ingestor.class);
    private static final int MAX_GROUP = 256;

    /** A batch and what to do once it is committed (or failed: outcome null, error set). */
    public record Pending(IngestBatch batch, BiConsumer<IngestOutcome, Throwable> done) {
    }

    private final Store store;
    private final BlockingQueue<Pending> queue;
    private final Thread writer;
    private final java.util.function.Consumer<List<IngestBatch>> afterCommit;
    private volatile boolean running = true;

    public Ingestor(Store store, int queueCapacity, java.util.function.Consumer<List<IngestBatch>> afterCommit) {
        this.store = store;
        this.queue = new ArrayBlockingQueue<>(queueCapacity);
        this.afterCommit = afterCommit;
        this.writer = new Thread(this::loop, "ingest-writer");
        writer.setDaemon(true);
        writer.start();
    }

    /** Queues a batch; blocks briefly when the writer is behind (the caller is a stream's thread). */
    public void submit(IngestBatch batch, BiConsumer<IngestOutcome, Throwable> done) {
        try {
            if (!queue.offer(new Pending(batch, done), 30, TimeUnit.SECONDS)) {
                done.accept(null, new IllegalStateException("ingest queue full for 30 s"));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            done.accept(null, e);
        }
    }

    private void loop() {
        List<Pending> group = new ArrayList<>(MAX_GROUP);
        while (running || !queue.isEmpty()) {
            try {
                Pending first = queue.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                group.add(first);
                queue.drainTo(group, MAX_GROUP - 1);
                commit(group);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } finally {
                group.clear();
            }
        }
    }

    private void commit(List<Pending> group) {
        List<IngestBatch> batches = group.stream().map(Pending::batch).toList();
        List<IngestOutcome> outcomes;
        try {
            outcomes = store.ingestMany(batches);
        } catch (RuntimeException e) {
            log.error("ingest of {} batches failed; agents will replay them", group.size(), e);
            group.forEach(p -> p.done().accept(null, e));
            return;
        }
        for (int i = 0; i < group.size(); i++) {
            group.get(i).done().accept(outcomes.get(i), null);
        }
        try {
            afterCommit.accept(batches);
        } catch (RuntimeException e) {
            log.error("after-commit hook failed", e);
        }
    }

    @Override
    public void close() {
        running = false;
        try {
            writer.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
