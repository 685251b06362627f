package dev.probemesh.coordinator;

import dev.probemesh.coordinator.api.AdminServiceImpl;
import dev.probemesh.coordinator.api.AgentServiceImpl;
import dev.probemesh.coordinator.ingest.Ingestor;
import dev.probemesh.coordinator.session.SessionRegistry;
import dev.probemesh.coordinator.store.RetentionJob;
import dev.probemesh.coordinator.schedule.Schedules;
import dev.probemesh.coordinator.store.Store;
import dev.probemesh.coordinator.sweep.Sweeps;
import dev.probemesh.proto.v1.AgentServiceGrpc;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallExecutorSupplier;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One coordinator: store, single-writer ingest, agent sessions, correlation, and the gRPC server
 * that agents dial and the CLI calls. {@link #close()} stops everything in reverse order.
 */
public final class Coordinator implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Coordinator.class);
    /** gRPC's default inbound limit, stated: batches are capped far below it. */
    public static final int MAX_INBOUND_MESSAGE_BYTES = 4 << 20;

    /** How a coordinator is set up. */
    public record Options(InetSocketAddress listen, Duration retention, Diagnosis.Config diagnosis,
                          boolean benchDiscardResults) {
        public Options(InetSocketAddress listen, Duration retention, Diagnosis.Config diagnosis) {
            this(listen, retention, diagnosis, false);
        }
    }

    private final Store store;
    private final ScheduledExecutorService scheduler;
    private final Ingestor ingestor;
    private final SessionRegistry sessions;
    private final Diagnosis diagnosis;
    private final Sweeps sweeps;
    private final Schedules schedules;
    private final RetentionJob retention;
    private final HealthStatusManager health = new HealthStatusManager();
    /** Runs the agents' stream callbacks (hello's store work included); bounded, see agentCallThreads. */
    private final ExecutorService agentCalls;
    /** Runs every other call (admin, enrollment, health), so a burst of hellos cannot queue them. */
    private final ExecutorService otherCalls;
    private final Server server;

    private Coordinator(Store store, Security security, Options options, Clock clock) throws IOException {
        this.store = store;
        java.util.concurrent.ScheduledThreadPoolExecutor pool = new java.util.concurrent.ScheduledThreadPoolExecutor(2, r -> {
            Thread t = new Thread(r, "coordinator-scheduler");
            t.setDaemon(true);
            return t;
        });
        // At close, tasks not yet started are dropped; a running one finishes (see close()).
        pool.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        this.scheduler = pool;
        this.sessions = new SessionRegistry(store::checks);
        this.diagnosis = new Diagnosis(store, sessions, options.diagnosis(), clock);
        this.sweeps = new Sweeps(store, sessions, clock, scheduler);
        this.schedules = new Schedules(store, sweeps, clock, Schedules.Config.defaults());
        // The after-commit hook fans out: correlation and sweeps each see every committed batch,
        // and one failing does not starve the other.
        this.ingestor = new Ingestor(store, 4096, batches -> {
            try {
                diagnosis.resultsCommitted(batches);
            } finally {
                sweeps.resultsCommitted(batches);
            }
        });
        this.retention = new RetentionJob(store, scheduler, options.retention(), clock);
        security.onRevoke(name -> sessions.revoke(name, "agent " + name + " was revoked"));
        AgentServiceImpl agentService = new AgentServiceImpl(security.agentAuthenticator(), sessions, store, ingestor,
                security.renewer(), clock, options.benchDiscardResults());
        AdminServiceImpl adminService = new AdminServiceImpl(store, sessions, diagnosis, security.tokenAdmin(), sweeps,
                schedules, clock);
        // gRPC's default executor is an unbounded cached pool: 1,000 agents saying hello at once
        // (each hello commits its agent row) grew it to ~800 threads, most of the RSS, and made
        // connecting slower, not faster (they all queue on the store's one writer anyway).
        this.agentCalls = fixedPool(agentCallThreads(), "grpc-agent-calls");
        this.otherCalls = fixedPool(OTHER_CALL_THREADS, "grpc-admin-calls");
        NettyServerBuilder b = NettyServerBuilder.forAddress(options.listen(), security.serverCredentials())
                .executor(otherCalls)
                .callExecutor(new ServerCallExecutorSupplier() {
                    @Override
                    public <ReqT, RespT> Executor getExecutor(ServerCall<ReqT, RespT> call, Metadata headers) {
                        return AgentServiceGrpc.SERVICE_NAME.equals(call.getMethodDescriptor().getServiceName())
                                ? agentCalls : null; // null: the builder's executor (otherCalls)
                    }
                })
                .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
                // Agents keep their stream alive through NAT and whitelist firewalls with pings.
                .permitKeepAliveTime(10, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true)
                .keepAliveTime(60, TimeUnit.SECONDS)
                .keepAliveTimeout(20, TimeUnit.SECONDS)
                .addService(health.getHealthService());
        var interceptors = security.interceptors();
        b.addService(ServerInterceptors.intercept(agentService, interceptors));
        b.addService(ServerInterceptors.intercept(adminService, interceptors));
        security.extraServices().forEach(s -> b.addService(ServerInterceptors.intercept(s, interceptors)));
        this.server = b.build();
    }

    /** Opens the store, starts the loops and the server. */
    public static Coordinator start(Store store, Security security, Options options, Clock clock) throws IOException {
        Coordinator c = new Coordinator(store, security, options, clock);
        c.diagnosis.start(c.scheduler);
        c.retention.start();
        c.schedules.start(c.scheduler);
        c.scheduler.scheduleWithFixedDelay(security::periodic, 1, 60, TimeUnit.MINUTES);
        c.scheduler.scheduleWithFixedDelay(c::recordLastSeen, LAST_SEEN_FLUSH_S, LAST_SEEN_FLUSH_S, TimeUnit.SECONDS);
        c.server.start();
        log.info("coordinator listening on {}", c.server.getListenSockets());
        return c;
    }

    /** Threads for every non-agent call: admin RPCs are few and short (the matrix is served from memory). */
    static final int OTHER_CALL_THREADS = 4;

    /**
     * Threads for the agents' streams: their callbacks only decode and hand batches to the
     * ingest writer, except a hello, which writes the agent row; a few per core keep the cores
     * busy while some hellos wait on the store.
     */
    static int agentCallThreads() {
        return Math.max(4, 4 * Runtime.getRuntime().availableProcessors());
    }

    private static ExecutorService fixedPool(int threads, String name) {
        AtomicInteger n = new AtomicInteger();
        return Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** How often connected agents' last-seen times (from their heartbeats) reach the store. */
    static final long LAST_SEEN_FLUSH_S = 5;

    private void recordLastSeen() {
        try {
            store.touchAgents(sessions.all().stream().filter(s -> s.isOpen())
                    .map(s -> new Store.Touch(s.agent(), s.lastSeen(), s.clockSkewMs())).toList());
        } catch (RuntimeException e) {
            log.warn("recording agents' last-seen times failed; next try in {} s", LAST_SEEN_FLUSH_S, e);
        }
    }

    public int port() {
        return ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
    }

    public Store store() {
        return store;
    }

    public SessionRegistry sessions() {
        return sessions;
    }

    public Diagnosis diagnosis() {
        return diagnosis;
    }

    public Sweeps sweeps() {
        return sweeps;
    }

    public Schedules schedules() {
        return schedules;
    }

    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    @Override
    public void close() {
        health.enterTerminalState();
        sessions.closeAll("coordinator shutting down");
        server.shutdown();
        try {
            if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                server.shutdownNow();
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
        // No interrupts: a callback inside H2's file write (a hello) would panic the store.
        for (ExecutorService pool : List.of(agentCalls, otherCalls)) {
            pool.shutdown();
            try {
                pool.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        ingestor.close();
        retention.close();
        // Let a running task (a correlation run writing verdicts, a purge) finish: interrupting a
        // thread inside H2's file write closes the channel and panics the store.
        scheduler.shutdown();
        try {
            if (!scheduler.awaitTermination(10, TimeUnit.SECONDS)) {
                scheduler.shutdownNow();
            }
        } catch (InterruptedException e) {
            scheduler.shutdownNow();
            Thread.currentThread().interrupt();
        }
        store.close();
        log.info("coordinator stopped");
    }
}
