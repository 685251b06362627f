package dev.probemesh.agent.probe.net;

import dev.probemesh.common.failure.FailureCode;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousChannelGroup;
import java.nio.channels.AsynchronousSocketChannel;
import java.nio.channels.CompletionHandler;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.Message;
import org.xbill.DNS.Record;

/**
 * Sends DNS queries and matches answers, shared by every DNS-speaking probe and the address
 * resolver; dnsjava supplies only the wire codec ({@link Message}).
 *
 * <p>Why not dnsjava's {@code SimpleResolver}: its timeout is a property of the shared resolver
 * (not of one query), it retries a truncated answer over TCP by itself (hiding
 * DNS_TRUNCATED_TCP_FAILED), its UDP sockets are unconnected (so an ICMP port unreachable from a
 * dead resolver is never seen) and a bare sendAsync loop tops out near 27k answers/s here.
 *
 * <p>UDP: per server, a small pool of <em>connected</em> non-blocking datagram channels (source
 * port rotation; the kernel drops answers from other sources and reports ICMP errors on them),
 * all served by one selector thread that matches answers by query id and also drives timeouts
 * and the single retransmission at half the timeout. Answers are decoded and their futures
 * completed on the callback executor, so the selector thread only moves bytes.
 *
 * <p>TCP: one connection per query through an {@link AsynchronousSocketChannel} on the
 * transport's own one-thread channel group, timed by the scheduler; the connect time is reported.
 *
 * <p>Every query completes with an {@link Outcome}, never exceptionally.
 */
public final class DnsTransport implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DnsTransport.class);
    private static final int SOCKETS_PER_SERVER = 4;
    private static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    private static final java.time.Duration IDLE = java.time.Duration.ofSeconds(60);

    /** How a query travels. */
    public enum Protocol {
        UDP, TCP;

        public String wireName() {
            return this == UDP ? "udp" : "tcp";
        }
    }

    /** What one exchange produced. */
    public sealed interface Outcome permits Answered, Failed {
    }

    /** An answer whose id and question match the query; {@code connectNanos} is 0 over UDP. */
    public record Answered(Message response, long connectNanos) implements Outcome {
        public Answered {
            Objects.requireNonNull(response, "response");
        }
    }

    /**
     * No answer: {@code code} is {@code TIMEOUT} when nothing came back by the deadline, else the
     * transport failure (REFUSED for a closed TCP port or an ICMP port unreachable, HOST_UNREACHABLE,
     * LOCAL_FIREWALL for EPERM, ...); {@code connectNanos} is set when a TCP connect succeeded.
     */
    public record Failed(FailureCode code, String detail, long connectNanos) implements Outcome {
        public Failed {
            Objects.requireNonNull(code, "code");
            detail = detail == null ? "" : detail;
        }

        public boolean timedOut() {
            return code == FailureCode.TIMEOUT;
        }
    }

    private final ScheduledExecutorService scheduler;
    private final Executor callbacks;
    private final Selector selector;
    private final Thread ioThread;
    private final AsynchronousChannelGroup tcpGroup;
    private final Map<InetSocketAddress, UdpServer> udpServers = new ConcurrentHashMap<>();
    private final List<UdpSlot> slots = new CopyOnWriteArrayList<>();
    private final List<UdpServer> retiring = new CopyOnWriteArrayList<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final long idleNanos;
    private final long evictEveryNanos;
    private volatile boolean idle;
    private volatile boolean closed;

    /**
     * @param scheduler times TCP queries (the agent's shared scheduler)
     * @param callbacks decodes answers and completes futures (never the common pool; a small
     *     shared pool of the agent)
     */
    public DnsTransport(ScheduledExecutorService scheduler, Executor callbacks) {
        this(scheduler, callbacks, IDLE);
    }

    /** As above; {@code idle} is how long a server's UDP sockets stay open unused. */
    DnsTransport(ScheduledExecutorService scheduler, Executor callbacks, java.time.Duration idle) {
        this.idleNanos = idle.toNanos();
        this.evictEveryNanos = Math.max(TICK_NANOS, Math.min(TimeUnit.SECONDS.toNanos(10), idleNanos / 2));
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.callbacks = Objects.requireNonNull(callbacks, "callbacks");
        try {
            this.selector = Selector.open();
            this.tcpGroup = AsynchronousChannelGroup.withFixedThreadPool(1, r -> {
                Thread t = new Thread(r, "dns-tcp-io");
                t.setDaemon(true);
                return t;
            });
        } catch (IOException e) {
            throw new IllegalStateException("cannot open the DNS transport's selector", e);
        }
        this.ioThread = new Thread(this::ioLoop, "dns-udp-io");
        ioThread.setDaemon(true);
        ioThread.start();
    }

    /**
     * A standard query for {@code name}/{@code type} (class IN). Use this rather than
     * {@code Message.newQuery}, whose id comes from a shared {@code SecureRandom} (a lock and a
     * SHA-1 per query); the transport picks the id itself when sending.
     */
    public static Message newQuery(org.xbill.DNS.Name name, int type, boolean recursionDesired) {
        Message q = new Message(0);
        q.getHeader().setOpcode(org.xbill.DNS.Opcode.QUERY);
        if (recursionDesired) {
            q.getHeader().setFlag(org.xbill.DNS.Flags.RD);
        }
        q.addRecord(Record.newRecord(name, type, org.xbill.DNS.DClass.IN), org.xbill.DNS.Section.QUESTION);
        return q;
    }

    /**
     * Sends {@code query} (its id is overwritten; do not share the instance) to {@code server}.
     * Over UDP a second copy is sent at half the time to the deadline when {@code retransmit}.
     */
    public CompletableFuture<Outcome> query(InetSocketAddress server, Message query, Protocol protocol,
            long deadlineNanos, boolean retransmit) {
        if (closed) {
            return CompletableFuture.completedFuture(new Failed(FailureCode.INTERNAL, "DNS transport closed", 0));
        }
        return protocol == Protocol.UDP
                ? udp(server, query, deadlineNanos, retransmit)
                : tcp(server, query, deadlineNanos);
    }

    // ---------------------------------------------------------------- UDP

    /** The connected channels to one server. */
    private static final class UdpServer {
        final InetSocketAddress address;
        final UdpSlot[] slots;
        final AtomicInteger next = new AtomicInteger();
        volatile long lastUsed = System.nanoTime();
        volatile boolean retired;

        UdpServer(InetSocketAddress address, UdpSlot[] slots) {
            this.address = address;
            this.slots = slots;
        }

        boolean quiet() {
            for (UdpSlot s : slots) {
                if (!s.pending.isEmpty()) {
                    return false;
                }
            }
            return true;
        }

        UdpSlot pick() {
            return slots[Math.floorMod(next.getAndIncrement(), slots.length)];
        }
    }

    private static final class UdpSlot {
        final InetSocketAddress server;
        final DatagramChannel channel;
        final Map<Integer, Pending> pending = new ConcurrentHashMap<>();

        UdpSlot(InetSocketAddress server, DatagramChannel channel) {
            this.server = server;
            this.channel = channel;
        }
    }

    private static final class Pending {
        final UdpSlot slot;
        final int id;
        final Record question;
        final byte[] wire;
        final long deadline;
        volatile long retransmitAt; // 0 = none (left)
        final CompletableFuture<Outcome> future = new CompletableFuture<>();
        final AtomicBoolean done = new AtomicBoolean();

        Pending(UdpSlot slot, int id, Record question, byte[] wire, long deadline, long retransmitAt) {
            this.slot = slot;
            this.id = id;
            this.question = question;
            this.wire = wire;
            this.deadline = deadline;
            this.retransmitAt = retransmitAt;
        }
    }

    private CompletableFuture<Outcome> udp(InetSocketAddress server, Message query, long deadline, boolean retransmit) {
        long now = System.nanoTime();
        Pending p = null;
        UdpSlot slot = null;
        for (int tries = 0; tries < 3 && p == null; tries++) {
            UdpServer us;
            try {
                us = udpServers.computeIfAbsent(server, this::openServer);
            } catch (UncheckedIOException e) {
                return failedNow(e.getCause(), server);
            }
            us.lastUsed = now;
            slot = us.pick();
            for (int attempt = 0; attempt < 16 && p == null; attempt++) {
                int id = ThreadLocalRandom.current().nextInt(0x10000);
                query.getHeader().setID(id);
                byte[] wire = query.toWire();
                long rtx = retransmit ? now + (deadline - now) / 2 : 0;
                Pending candidate = new Pending(slot, id, query.getQuestion(), wire, deadline, rtx);
                if (slot.pending.putIfAbsent(id, candidate) == null) {
                    p = candidate;
                }
            }
            if (p != null && us.retired) {
                // lost a race with idle eviction: its sockets close once quiet, so use fresh ones
                slot.pending.remove(p.id, p);
                p = null;
            }
        }
        if (p == null) {
            return CompletableFuture.completedFuture(new Failed(FailureCode.INTERNAL,
                    "too many queries in flight to " + hostPort(server), 0));
        }
        if (inFlight.getAndIncrement() == 0 || idle) {
            selector.wakeup(); // the loop sleeps without a timeout while nothing is pending
        }
        try {
            slot.channel.write(ByteBuffer.wrap(p.wire));
        } catch (IOException e) {
            if (e instanceof PortUnreachableException) {
                failSlot(slot, e); // an earlier send drew an ICMP port unreachable
            } else {
                finish(p, classify(e, server));
            }
        }
        return p.future;
    }

    private UdpServer openServer(InetSocketAddress server) {
        UdpSlot[] made = new UdpSlot[SOCKETS_PER_SERVER];
        try {
            for (int i = 0; i < made.length; i++) {
                DatagramChannel ch = DatagramChannel.open(server.getAddress() instanceof Inet6Address
                        ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET);
                made[i] = new UdpSlot(server, ch);
                ch.configureBlocking(false);
                ch.connect(server);
                ch.register(selector, SelectionKey.OP_READ, made[i]);
            }
        } catch (IOException e) {
            for (UdpSlot s : made) {
                if (s != null) {
                    closeQuietly(s.channel);
                }
            }
            throw new UncheckedIOException(e);
        }
        slots.addAll(List.of(made));
        selector.wakeup(); // pick the new registrations up
        return new UdpServer(server, made);
    }

    private void ioLoop() {
        ByteBuffer buf = ByteBuffer.allocateDirect(65535);
        long nextScan = System.nanoTime() + TICK_NANOS;
        long nextEvict = System.nanoTime() + evictEveryNanos;
        while (!closed) {
            try {
                if (inFlight.get() == 0) {
                    idle = true;
                    if (inFlight.get() == 0) {
                        // nothing to time: sleep until a query arrives (or it is time to evict)
                        selector.select(udpServers.isEmpty() && retiring.isEmpty() ? 0
                                : TimeUnit.NANOSECONDS.toMillis(evictEveryNanos));
                    }
                    idle = false;
                } else {
                    selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(nextScan - System.nanoTime())));
                }
                if (closed) {
                    return;
                }
                List<Runnable> answers = new ArrayList<>();
                for (var it = selector.selectedKeys().iterator(); it.hasNext(); ) {
                    SelectionKey key = it.next();
                    it.remove();
                    if (key.isValid() && key.isReadable()) {
                        drain((UdpSlot) key.attachment(), buf, answers);
                    }
                }
                if (!answers.isEmpty()) {
                    // One hand-off per wakeup for every answer read in it, not one per answer.
                    hand(() -> answers.forEach(Runnable::run));
                }
                long now = System.nanoTime();
                if (now - nextScan >= 0) {
                    scan(now);
                    nextScan = now + TICK_NANOS;
                }
                if (now - nextEvict >= 0) {
                    evictIdle(now);
                    nextEvict = now + evictEveryNanos;
                }
            } catch (IOException | RuntimeException e) {
                if (!closed) {
                    log.warn("DNS UDP loop: {}", e.toString());
                }
            }
        }
    }

    private void drain(UdpSlot slot, ByteBuffer buf, List<Runnable> answers) {
        for (int i = 0; i < 256; i++) {
            buf.clear();
            int n;
            try {
                n = slot.channel.read(buf);
            } catch (IOException e) {
                failSlot(slot, e); // ICMP error (port/host unreachable) for this connected socket
                return;
            }
            if (n <= 0) {
                return;
            }
            if (n < 12) {
                continue;
            }
            buf.flip();
            int id = buf.getShort(0) & 0xffff;
            Pending p = slot.pending.get(id);
            if (p == null) {
                continue; // late answer to a query that already timed out, or the retransmit's twin
            }
            byte[] bytes = new byte[n];
            buf.get(bytes);
            answers.add(() -> decode(p, bytes));
        }
    }

    private void decode(Pending p, byte[] bytes) {
        Message m;
        try {
            m = new Message(bytes);
        } catch (IOException e) {
            return; // garbage with a matching id: keep waiting for the real answer
        }
        Record q = m.getQuestion();
        if (q == null || !q.getName().equals(p.question.getName()) || q.getType() != p.question.getType()) {
            return; // not an answer to our question (a spoof or a confused server): keep waiting
        }
        finish(p, new Answered(m, 0));
    }

    /**
     * Retires the sockets of servers unused for a while (a trace meets many
     * authorities; keeping 4 sockets for each forever would leak descriptors). A retired server
     * leaves the map at once and closes its sockets once no query is pending on them.
     */
    private void evictIdle(long now) {
        for (UdpServer us : udpServers.values()) {
            if (now - us.lastUsed > idleNanos && us.quiet()) {
                us.retired = true;
                udpServers.remove(us.address, us);
                retiring.add(us);
            }
        }
        for (var it = retiring.iterator(); it.hasNext(); ) {
            UdpServer us = it.next();
            if (us.quiet()) {
                for (UdpSlot s : us.slots) {
                    slots.remove(s);
                    closeQuietly(s.channel);
                }
                retiring.remove(us);
            }
        }
    }

    private void scan(long now) {
        for (UdpSlot slot : slots) {
            for (Pending p : slot.pending.values()) {
                if (now - p.deadline >= 0) {
                    finish(p, new Failed(FailureCode.TIMEOUT, "no answer from " + hostPort(slot.server)
                            + " over udp", 0));
                } else if (p.retransmitAt != 0 && now - p.retransmitAt >= 0) {
                    p.retransmitAt = 0;
                    try {
                        slot.channel.write(ByteBuffer.wrap(p.wire));
                    } catch (IOException e) {
                        if (e instanceof PortUnreachableException) {
                            failSlot(slot, e);
                        } else {
                            finish(p, classify(e, slot.server));
                        }
                    }
                }
            }
        }
    }

    private void failSlot(UdpSlot slot, IOException e) {
        Failed f = classify(e, slot.server);
        for (Pending p : slot.pending.values()) {
            finish(p, f);
        }
    }

    private void finish(Pending p, Outcome o) {
        if (p.done.compareAndSet(false, true)) {
            p.slot.pending.remove(p.id, p);
            inFlight.decrementAndGet();
            p.future.complete(o);
        }
    }

    /** UDP sockets open right now (for metrics and tests). */
    public int openUdpSockets() {
        return slots.size();
    }

    // ---------------------------------------------------------------- TCP

    private CompletableFuture<Outcome> tcp(InetSocketAddress server, Message query, long deadline) {
        CompletableFuture<Outcome> f = new CompletableFuture<>();
        AsynchronousSocketChannel ch;
        try {
            ch = AsynchronousSocketChannel.open(tcpGroup);
        } catch (IOException e) {
            return failedNow(e, server);
        }
        int id = ThreadLocalRandom.current().nextInt(0x10000);
        query.getHeader().setID(id);
        byte[] wire = query.toWire();
        ByteBuffer out = ByteBuffer.allocate(wire.length + 2);
        out.putShort((short) wire.length).put(wire).flip();
        Record question = query.getQuestion();
        long start = System.nanoTime();
        long[] connectNanos = {0};
        AtomicBoolean done = new AtomicBoolean();
        ScheduledFuture<?>[] timer = new ScheduledFuture<?>[1];
        java.util.function.Consumer<Outcome> finish = o -> {
            if (done.compareAndSet(false, true)) {
                if (timer[0] != null) {
                    timer[0].cancel(false);
                }
                closeQuietly(ch);
                hand(() -> f.complete(o));
            }
        };
        timer[0] = scheduler.schedule(() -> finish.accept(new Failed(FailureCode.TIMEOUT,
                (connectNanos[0] == 0 ? "tcp connect to " + hostPort(server) + " timed out"
                        : "no answer from " + hostPort(server) + " over tcp"), connectNanos[0])),
                Math.max(0, deadline - start), TimeUnit.NANOSECONDS);
        ch.connect(server, null, new CompletionHandler<Void, Void>() {
            @Override
            public void completed(Void v, Void a) {
                connectNanos[0] = Math.max(1, System.nanoTime() - start);
                writeAll();
            }

            @Override
            public void failed(Throwable e, Void a) {
                Failed c = classify(e, server);
                finish.accept(new Failed(c.code(), "tcp connect: " + c.detail(), 0));
            }

            private void writeAll() {
                ch.write(out, null, new CompletionHandler<Integer, Void>() {
                    @Override
                    public void completed(Integer n, Void a) {
                        if (out.hasRemaining()) {
                            ch.write(out, null, this);
                        } else {
                            readLength();
                        }
                    }

                    @Override
                    public void failed(Throwable e, Void a) {
                        ioFailed(e);
                    }
                });
            }

            private void readLength() {
                ByteBuffer len = ByteBuffer.allocate(2);
                readFully(len, () -> readBody(len.flip().getShort() & 0xffff));
            }

            private void readBody(int n) {
                ByteBuffer body = ByteBuffer.allocate(n);
                readFully(body, () -> {
                    try {
                        Message m = new Message(body.array());
                        Record q = m.getQuestion();
                        if (m.getHeader().getID() != id || q == null || !q.getName().equals(question.getName())
                                || q.getType() != question.getType()) {
                            finish.accept(new Failed(FailureCode.INTERNAL, hostPort(server)
                                    + " answered another question over tcp", connectNanos[0]));
                        } else {
                            finish.accept(new Answered(m, connectNanos[0]));
                        }
                    } catch (IOException e) {
                        finish.accept(new Failed(FailureCode.INTERNAL, "malformed answer from "
                                + hostPort(server) + " over tcp: " + e.getMessage(), connectNanos[0]));
                    }
                });
            }

            private void readFully(ByteBuffer b, Runnable then) {
                ch.read(b, null, new CompletionHandler<Integer, Void>() {
                    @Override
                    public void completed(Integer n, Void a) {
                        if (n < 0) {
                            finish.accept(new Failed(FailureCode.REFUSED, hostPort(server)
                                    + " closed the tcp connection without answering", connectNanos[0]));
                        } else if (b.hasRemaining()) {
                            ch.read(b, null, this);
                        } else {
                            then.run();
                        }
                    }

                    @Override
                    public void failed(Throwable e, Void a) {
                        ioFailed(e);
                    }
                });
            }

            private void ioFailed(Throwable e) {
                Failed c = classify(e, server);
                finish.accept(new Failed(c.code(), "tcp: " + c.detail(), connectNanos[0]));
            }
        });
        return f;
    }

    // ---------------------------------------------------------------- shared

    /** Runs on the callback executor; if that refuses (shutting down), runs here so no future hangs. */
    private void hand(Runnable r) {
        try {
            callbacks.execute(r);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            r.run();
        }
    }

    private static Failed classify(Throwable e, InetSocketAddress server) {
        if (e instanceof PortUnreachableException) {
            return new Failed(FailureCode.REFUSED, "ICMP port unreachable from " + hostPort(server)
                    + " (no DNS server on that port)", 0);
        }
        if (e instanceof java.nio.channels.AsynchronousCloseException) {
            return new Failed(FailureCode.TIMEOUT, "no answer from " + hostPort(server), 0);
        }
        SocketErrors.Classified c = SocketErrors.classify(e, server.getAddress());
        return new Failed(c.code(), c.detail(), 0);
    }

    private static CompletableFuture<Outcome> failedNow(Throwable e, InetSocketAddress server) {
        return CompletableFuture.completedFuture(classify(e, server));
    }

    /** {@code 198.51.100.53:53} or {@code [2001:db8:53::53]:53}. */
    public static String hostPort(InetSocketAddress a) {
        String h = DnsAnswers.address(a.getAddress());
        return (h.contains(":") ? "[" + h + "]" : h) + ":" + a.getPort();
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // nothing left to do with it
        }
    }

    @Override
    public void close() {
        closed = true;
        selector.wakeup();
        try {
            ioThread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<UdpSlot> all = new ArrayList<>(slots);
        for (UdpSlot s : all) {
            for (Pending p : s.pending.values()) {
                finish(p, new Failed(FailureCode.INTERNAL, "DNS transport closed", 0));
            }
            closeQuietly(s.channel);
        }
        closeQuietly(selector);
        try {
            tcpGroup.shutdownNow();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    private static final class UncheckedIOException extends RuntimeException {
        UncheckedIOException(IOException e) {
            super(e);
        }
    }
}
