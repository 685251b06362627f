package dev.probemesh.agent.probe.net;

import dev.probemesh.common.failure.FailureCode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.PriorityQueue;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asynchronous, ICMP-aware TCP connect. One selector thread serves every connect in flight (no
 * thread per connect; thousands in flight are bounded only by the fd limit), each with its own
 * deadline. Before connecting it turns on IP_RECVERR / IPV6_RECVERR and, when the connect fails,
 * reads the ICMP error from the socket's error queue (through JNA, see {@link ErrorQueue}), so
 * IPv4 admin-prohibited is told from host-unreachable and the rejecting device is named:
 * {@code ADMIN_PROHIBITED "rejected by 198.51.100.1 (ICMP admin-prohibited)"}, attribute
 * {@code rejected_by}.
 *
 * <p>A DROP in this host's own OUTPUT chain is invisible to TCP (the kernel swallows the EPERM and
 * keeps retrying); at the deadline TCP_INFO tells it apart from a drop further away, once at least
 * one SYN retransmission was due (deadlines over ~1 s): LOCAL_FIREWALL instead of TIMEOUT.
 *
 * <p>NO_ROUTE vs NET_UNREACHABLE: "Network is unreachable" with an ICMP error queued came from a
 * router (NET_UNREACHABLE, router named); without one, it is this host's own routing table
 * (NO_ROUTE), whether the kernel refused at once in connect() or later.
 *
 * <p>Results complete on the selector thread: continuations must not block (use the *Async
 * variants with your own executor for anything slow).
 */
public final class TcpConnector implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TcpConnector.class);

    private final Selector selector;
    private final Thread thread;
    private final Queue<Pending> registrations = new ConcurrentLinkedQueue<>();
    private final PriorityQueue<Pending> deadlines = new PriorityQueue<>((a, b) -> Long.compare(a.deadline - b.deadline, 0));
    private final Optional<ErrorQueue> errorQueue;
    private final SocketFds fds;
    private final LocalRoutes routes;
    private final Executor completions;
    private volatile boolean closed;

    private static final class Pending {
        final SocketChannel channel;
        final InetSocketAddress remote;
        final CompletableFuture<ConnectResult> result;
        final long start;
        final long deadline;
        final OptionalInt fd;
        /** False for a connect-only check: the connector closes the socket as soon as it connected. */
        final boolean keepOpen;
        SelectionKey key;
        /** Finished before its deadline: left in the deadline heap and skipped there (removal would be O(n)). */
        boolean done;

        Pending(SocketChannel channel, InetSocketAddress remote, CompletableFuture<ConnectResult> result, long start,
                long deadline, OptionalInt fd, boolean keepOpen) {
            this.channel = channel;
            this.keepOpen = keepOpen;
            this.remote = remote;
            this.result = result;
            this.start = start;
            this.deadline = deadline;
            this.fd = fd;
        }
    }

    /**
     * A connector with its own selector thread, reading ICMP errors where this JVM allows;
     * results complete on the selector thread.
     */
    public TcpConnector() {
        this(LocalRoutes.system(), true);
    }

    /**
     * As {@link #TcpConnector()}, but results complete on {@code completions} (the agent's
     * scheduler), handed over in one task per selector wakeup: one thread hand-off for a whole
     * batch of finished connects instead of one per probe.
     */
    public TcpConnector(Executor completions) {
        this(LocalRoutes.system(), true, Objects.requireNonNull(completions, "completions"));
    }

    /**
     * @param routes the routing table that decides NO_ROUTE
     * @param icmpAware false to skip the error queue (the honest fallback, for tests of it)
     */
    public TcpConnector(LocalRoutes routes, boolean icmpAware) {
        this(routes, icmpAware, null);
    }

    private TcpConnector(LocalRoutes routes, boolean icmpAware, Executor completions) {
        this.completions = completions;
        this.routes = routes;
        this.errorQueue = icmpAware ? ErrorQueue.load() : Optional.empty();
        this.fds = icmpAware && errorQueue.isPresent() ? SocketFds.load() : null;
        if (icmpAware) {
            log.debug("tcp connector: {}", fds != null ? "reads ICMP errors (socket fd via " + fds.how() + ")"
                    : "cannot read ICMP errors; EHOSTUNREACH is reported as HOST_UNREACHABLE");
        }
        try {
            this.selector = Selector.open();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open a selector", e);
        }
        this.thread = new Thread(this::loop, "pm-tcp-connector");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /** True when failed connects can be explained by the ICMP error (JNA and the fd are both usable). */
    public boolean icmpAware() {
        return errorQueue.isPresent() && fds != null;
    }

    /** True on the selector thread: continuations there must hop off before doing anything slow. */
    public boolean onSelectorThread() {
        return Thread.currentThread() == thread;
    }

    /**
     * Connects to {@code remote} by {@code deadlineNanos} ({@link System#nanoTime()}). Never
     * completes exceptionally: every failure is a {@link ConnectResult.Failed}.
     */
    public CompletionStage<ConnectResult> connect(InetSocketAddress remote, long deadlineNanos) {
        return connect(remote, deadlineNanos, true);
    }

    /**
     * As {@link #connect(InetSocketAddress, long)}; with {@code keepOpen} false (a check that only
     * asks whether the port accepts connections) the connector closes the socket itself once it
     * knows the connect succeeded, and {@link ConnectResult.Connected#channel()} is already
     * closed. That saves finishing the connect in the JDK (a poll and a getsockopt more).
     */
    public CompletionStage<ConnectResult> connect(InetSocketAddress remote, long deadlineNanos, boolean keepOpen) {
        CompletableFuture<ConnectResult> result = new CompletableFuture<>();
        long start = System.nanoTime();
        if (closed) {
            result.complete(new ConnectResult.Failed(remote, FailureCode.INTERNAL, "connector closed", Map.of(), 0));
            return result;
        }
        boolean v6 = remote.getAddress() instanceof Inet6Address;
        SocketChannel ch = null;
        OptionalInt fd = OptionalInt.empty();
        try {
            ch = SocketChannel.open(v6 ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET);
            ch.configureBlocking(false);
            if (icmpAware()) {
                fd = fds.fd(ch);
                if (fd.isPresent() && !errorQueue.get().enable(fd.getAsInt(), v6)) {
                    fd = OptionalInt.empty();
                }
            }
            if (ch.connect(remote)) {
                if (!keepOpen) {
                    closeQuietly(ch);
                }
                result.complete(new ConnectResult.Connected(ch, remote, micros(start)));
                return result;
            }
        } catch (IOException | RuntimeException e) {
            // Refused in connect() itself: EPERM from our OUTPUT chain, no route in our own table, ...
            result.complete(failure(remote, e, fd, start, true));
            closeQuietly(ch);
            return result;
        }
        registrations.add(new Pending(ch, remote, result, start, deadlineNanos, fd, keepOpen));
        selector.wakeup();
        return result;
    }

    private void loop() {
        try {
            while (!closed) {
                long timeoutMs = 0;
                Pending first;
                while ((first = deadlines.peek()) != null && first.done) {
                    deadlines.poll();
                }
                if (first != null) {
                    timeoutMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(first.deadline - System.nanoTime()) + 1);
                }
                // selectNow() below clears a pending wakeup(), so registrations that arrived
                // meanwhile are picked up here instead of waiting for the next event.
                if (registrations.isEmpty()) {
                    selector.select(timeoutMs);
                } else {
                    selector.selectNow();
                }
                List<Runnable> completions = new ArrayList<>();
                Pending p;
                while ((p = registrations.poll()) != null) {
                    try {
                        p.key = p.channel.register(selector, SelectionKey.OP_CONNECT, p);
                        deadlines.add(p);
                    } catch (IOException | RuntimeException e) {
                        Pending q = p;
                        // Classify before closing: a closed fd number may already belong to another socket.
                        ConnectResult.Failed f = failure(q.remote, e, q.fd, q.start, false);
                        closeQuietly(q.channel);
                        completions.add(() -> q.result.complete(f));
                    }
                }
                Iterator<SelectionKey> it = selector.selectedKeys().iterator();
                while (it.hasNext()) {
                    SelectionKey key = it.next();
                    it.remove();
                    Pending q = (Pending) key.attachment();
                    completions.add(finish(q));
                    q.done = true;
                }
                long now = System.nanoTime();
                while ((first = deadlines.peek()) != null && (first.done || now - first.deadline >= 0)) {
                    deadlines.poll();
                    if (!first.done) {
                        first.done = true;
                        completions.add(timeout(first));
                    }
                }
                if (!completions.isEmpty()) {
                    // Flush cancelled keys first, so a caller may switch its channel to blocking mode.
                    selector.selectNow();
                    complete(completions);
                }
            }
        } catch (IOException | ClosedSelectorException e) {
            if (!closed) {
                log.error("tcp connector selector failed", e);
            }
        } finally {
            failAll();
        }
    }

    /** Runs one wakeup's completions here, or hands them to the completion executor in one task. */
    private void complete(List<Runnable> batch) {
        if (completions == null) {
            batch.forEach(Runnable::run);
            return;
        }
        try {
            completions.execute(() -> batch.forEach(Runnable::run));
        } catch (RejectedExecutionException e) {
            batch.forEach(Runnable::run); // shutting down: complete here rather than leave futures hanging
        }
    }

    private Runnable finish(Pending p) {
        p.key.cancel();
        if (p.fd.isPresent() && errorQueue.isPresent()) {
            Runnable r = finishWithErrno(p, p.fd.getAsInt());
            if (r != null) {
                return r;
            }
        }
        // Read the ICMP error before finishConnect: the JDK closes a channel whose connect failed.
        Optional<IcmpError> icmp = readIcmp(p.fd);
        try {
            if (p.channel.finishConnect()) {
                if (!p.keepOpen) {
                    closeQuietly(p.channel);
                }
                ConnectResult ok = new ConnectResult.Connected(p.channel, p.remote, micros(p.start));
                return () -> p.result.complete(ok);
            }
            closeQuietly(p.channel);
            ConnectResult f = failure(p.remote, new ConnectException("connect did not finish"), icmp,
                    p.fd.isPresent(), p.start, false);
            return () -> p.result.complete(f);
        } catch (IOException | RuntimeException e) {
            closeQuietly(p.channel);
            if (resetAfterHandshake(e)) {
                // A RST answering our SYN is ECONNREFUSED; ECONNRESET means the handshake completed
                // and the service reset at once: the port is open, which is what a connect probes.
                // The caller gets a closed channel: anything it tries on it fails as a reset.
                ConnectResult ok = new ConnectResult.Connected(p.channel, p.remote, micros(p.start));
                return () -> p.result.complete(ok);
            }
            ConnectResult f = failure(p.remote, e, icmp, p.fd.isPresent(), p.start, false);
            return () -> p.result.complete(f);
        }
    }

    /**
     * The connect's outcome from SO_ERROR, one syscall: the error queue is read only when the
     * connect failed (success is the common case and has nothing queued), and a connect-only
     * check never finishes the connect in the JDK. Null when SO_ERROR could not be read (then
     * the JDK's finishConnect decides).
     */
    private Runnable finishWithErrno(Pending p, int fd) {
        int errno;
        try {
            errno = errorQueue.get().pendingError(fd);
        } catch (RuntimeException | Error e) {
            log.debug("reading SO_ERROR failed: {}", e.toString());
            return null;
        }
        if (errno < 0) {
            return null;
        }
        if (errno == 0) {
            if (p.keepOpen) {
                try {
                    // Connected: this only moves the JDK channel to its connected state.
                    if (!p.channel.finishConnect()) {
                        return null;
                    }
                } catch (IOException | RuntimeException e) {
                    closeQuietly(p.channel);
                    ConnectResult f = failure(p.remote, e, Optional.empty(), true, p.start, false);
                    return () -> p.result.complete(f);
                }
            } else {
                closeQuietly(p.channel);
            }
            ConnectResult ok = new ConnectResult.Connected(p.channel, p.remote, micros(p.start));
            return () -> p.result.complete(ok);
        }
        Optional<IcmpError> icmp = readIcmp(p.fd);
        closeQuietly(p.channel);
        IOException e = SocketErrors.connectError(errno);
        if (resetAfterHandshake(e)) {
            ConnectResult ok = new ConnectResult.Connected(p.channel, p.remote, micros(p.start));
            return () -> p.result.complete(ok);
        }
        ConnectResult f = failure(p.remote, e, icmp, true, p.start, false);
        return () -> p.result.complete(f);
    }

    static boolean resetAfterHandshake(Throwable e) {
        return e instanceof java.net.SocketException && e.getMessage() != null
                && e.getMessage().startsWith("Connection reset");
    }

    private Runnable timeout(Pending p) {
        p.key.cancel();
        boolean localDrop = p.fd.isPresent() && errorQueue.isPresent()
                && errorQueue.get().synsFailedLocally(p.fd.getAsInt()).orElse(false);
        closeQuietly(p.channel);
        ConnectResult f = localDrop
                ? new ConnectResult.Failed(p.remote, FailureCode.LOCAL_FIREWALL, "this host dropped every SYN to "
                        + show(p.remote) + " (no retransmission left the host: a DROP in its own OUTPUT chain)",
                        Map.of(), micros(p.start))
                : new ConnectResult.Failed(p.remote, FailureCode.TIMEOUT,
                        "connect to " + show(p.remote) + " timed out (no answer)", Map.of(), micros(p.start));
        return () -> p.result.complete(f);
    }

    private Optional<IcmpError> readIcmp(OptionalInt fd) {
        if (fd.isEmpty() || errorQueue.isEmpty()) {
            return Optional.empty();
        }
        try {
            return errorQueue.get().read(fd.getAsInt());
        } catch (RuntimeException | Error e) {
            log.debug("reading the socket error queue failed: {}", e.toString());
            return Optional.empty();
        }
    }

    private ConnectResult.Failed failure(InetSocketAddress remote, Throwable e, OptionalInt fd, long start,
            boolean immediate) {
        return failure(remote, e, readIcmp(fd), fd.isPresent(), start, immediate);
    }

    /**
     * The ICMP error first, when one was queued: it is more precise than errno (reading it also
     * clears the socket's pending errno, so finishConnect then only says "not connected"). An ICMP
     * port-unreachable or admin-prohibited sent by this host itself is its own OUTPUT chain's
     * {@code -j REJECT}: TCP sees "Connection refused" there (the kernel swallows the SYN's EPERM
     * and the REJECT target answers with ICMP), so the error queue is the only way to call it
     * LOCAL_FIREWALL. Without an ICMP error, errno decides ({@link SocketErrors}).
     */
    private ConnectResult.Failed failure(InetSocketAddress remote, Throwable e, Optional<IcmpError> icmp,
            boolean queueWatched, long start, boolean immediate) {
        long us = micros(start);
        IcmpError err = icmp.filter(IcmpError::fromIcmp).filter(i -> i.meaning() != null).orElse(null);
        if (err != null) {
            FailureCode meant = err.meaning().code();
            if ((meant == FailureCode.REFUSED || meant == FailureCode.ADMIN_PROHIBITED) && isLocal(err.offender())) {
                return new ConnectResult.Failed(remote, FailureCode.LOCAL_FIREWALL, "this host's firewall rejected "
                        + show(remote) + " (" + err.meaning().what() + " from its own address "
                        + Addresses.text(err.offender()) + ")", err.attributes(), us);
            }
            return new ConnectResult.Failed(remote, meant, err.describe() + " connecting to " + show(remote),
                    err.attributes(), us);
        }
        SocketErrors.Classified c = SocketErrors.classify(e, remote.getAddress(), routes);
        FailureCode code = c.code();
        String detail = c.detail();
        if (code == FailureCode.NET_UNREACHABLE && (immediate || queueWatched)) {
            // No ICMP from a router: the kernel refused from its own table (the error queue was
            // watched and stayed empty, or connect() failed before sending anything).
            code = FailureCode.NO_ROUTE;
            detail = "this host has no route to " + Addresses.text(remote.getAddress()) + " (Network is unreachable)";
        } else if (code == FailureCode.HOST_UNREACHABLE && !queueWatched) {
            detail = "host unreachable connecting to " + show(remote) + " (EHOSTUNREACH; ICMP type could not be read)";
        }
        return new ConnectResult.Failed(remote, code, detail, Map.of(), us);
    }

    private static boolean isLocal(InetAddress a) {
        if (a == null) {
            return false;
        }
        try {
            return a.isLoopbackAddress() || NetworkInterface.getByInetAddress(a) != null;
        } catch (SocketException e) {
            return false;
        }
    }

    private void failAll() {
        List<Pending> all = new ArrayList<>(deadlines.stream().filter(q -> !q.done).toList());
        deadlines.clear();
        Pending p;
        while ((p = registrations.poll()) != null) {
            all.add(p);
        }
        for (Pending q : all) {
            closeQuietly(q.channel);
            q.result.complete(new ConnectResult.Failed(q.remote, FailureCode.INTERNAL, "connector closed", Map.of(),
                    micros(q.start)));
        }
    }

    static String show(InetSocketAddress a) {
        String h = Addresses.text(a.getAddress());
        return (h.contains(":") ? "[" + h + "]" : h) + ":" + a.getPort();
    }

    private static long micros(long start) {
        return TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - start);
    }

    private static void closeQuietly(SocketChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException e) {
                // closing a failed socket: nothing to report
            }
        }
    }

    /** Stops the selector thread; connects still in flight complete as INTERNAL "connector closed". */
    @Override
    public void close() {
        closed = true;
        selector.wakeup();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            selector.close();
        } catch (IOException e) {
            // shutting down
        }
    }
}
