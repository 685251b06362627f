package dev.probemesh.agent.testing;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.BindException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * A real DNS responder on loopback for tests: UDP and TCP on one port chosen by the kernel, wire
 * format by dnsjava's {@link Message} codec. Configure it per name (records, delegations with or
 * without glue, rcodes, NODATA, truncation over UDP, delays, silence), or for every name, and
 * read its query log to count what a probe sent. Unknown names are NXDOMAIN.
 *
 * <pre>{@code
 * try (var dns = TestDnsServer.start()) {
 *     dns.a("origin.example.test", "203.0.113.10").truncate("big.example.test");
 *     ... DnsParams.newBuilder().setResolver(dns.hostPort()) ...
 * }
 * }</pre>
 *
 * Thread-safe: configuration may change while queries are in flight.
 */
public final class TestDnsServer implements AutoCloseable {
    /** One query the server received. */
    public record Query(String name, int type, String transport, boolean recursionDesired) {
        public String typeName() {
            return Type.string(type);
        }
    }

    private record Delegation(Name ns, List<InetAddress> glue) {
    }

    private static final int TTL = 5;

    private final DatagramSocket udp;
    private final ServerSocket tcp;
    private final InetSocketAddress address;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "test-dns-server");
        t.setDaemon(true);
        return t;
    });
    private final ScheduledExecutorService delayed = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "test-dns-delay");
        t.setDaemon(true);
        return t;
    });
    private final Map<Name, List<Record>> records = new ConcurrentHashMap<>();
    private final Map<Name, List<Delegation>> delegations = new ConcurrentHashMap<>();
    private final Map<Name, Integer> rcodes = new ConcurrentHashMap<>();
    private final Map<Name, Duration> delays = new ConcurrentHashMap<>();
    private final Set<Name> silent = ConcurrentHashMap.newKeySet();
    private final Set<Name> truncated = ConcurrentHashMap.newKeySet();
    private final Set<Name> nodata = ConcurrentHashMap.newKeySet();
    private final List<Query> log = new CopyOnWriteArrayList<>();
    private volatile boolean silentAll;
    private volatile boolean truncateAll;
    private volatile int rcodeAll = -1;
    private volatile Duration delayAll = Duration.ZERO;
    private volatile boolean closed;

    private TestDnsServer(DatagramSocket udp, ServerSocket tcp) {
        this.udp = udp;
        this.tcp = tcp;
        this.address = new InetSocketAddress(udp.getLocalAddress(), udp.getLocalPort());
        threads.execute(this::udpLoop);
        threads.execute(this::acceptLoop);
    }

    /** A server on 127.0.0.1. */
    public static TestDnsServer start() {
        return start(InetAddress.getLoopbackAddress());
    }

    /** A server on {@code bind} (e.g. ::1), UDP and TCP on the same kernel-chosen port. */
    public static TestDnsServer start(InetAddress bind) {
        return start(bind, 0);
    }

    /**
     * Servers on several addresses sharing one port, as a delegation chain needs: glue carries
     * addresses only, so the root, a zone's and a sub-zone's servers on loopback are 127.0.0.1,
     * 127.0.0.2, ... on the same port (every 127/8 address works on Linux without set-up).
     */
    public static List<TestDnsServer> startSamePort(InetAddress... binds) {
        IllegalStateException last = null;
        for (int attempt = 0; attempt < 20; attempt++) {
            List<TestDnsServer> made = new ArrayList<>();
            try {
                made.add(start(binds[0], 0));
                for (int i = 1; i < binds.length; i++) {
                    made.add(start(binds[i], made.get(0).port()));
                }
                return List.copyOf(made);
            } catch (IllegalStateException e) {
                last = e; // that port is taken on one of the addresses: try another
                made.forEach(TestDnsServer::close);
            }
        }
        throw new IllegalStateException("no common free port on " + java.util.Arrays.toString(binds), last);
    }

    /** A server on {@code bind}:{@code port} (0 = kernel-chosen), UDP and TCP. */
    public static TestDnsServer start(InetAddress bind, int port) {
        IOException last = null;
        for (int attempt = 0; attempt < (port == 0 ? 50 : 1); attempt++) {
            DatagramSocket u = null;
            try {
                u = new DatagramSocket(new InetSocketAddress(bind, port));
                ServerSocket s = new ServerSocket();
                try {
                    s.setReuseAddress(true);
                    s.bind(new InetSocketAddress(bind, u.getLocalPort()), 128);
                } catch (IOException e) {
                    s.close();
                    throw e;
                }
                return new TestDnsServer(u, s);
            } catch (BindException e) {
                last = e; // the TCP port was taken by someone else: try another UDP port
                if (u != null) {
                    u.close();
                }
            } catch (IOException e) {
                if (u != null) {
                    u.close();
                }
                throw new IllegalStateException("cannot start a test DNS server on " + bind, e);
            }
        }
        throw new IllegalStateException("no free UDP+TCP port pair on " + bind, last);
    }

    public InetSocketAddress address() {
        return address;
    }

    public int port() {
        return address.getPort();
    }

    /** {@code 127.0.0.1:port} or {@code [::1]:port}: the form DnsParams.resolver takes and probes report. */
    public String hostPort() {
        return dev.probemesh.agent.probe.net.DnsTransport.hostPort(address);
    }

    // ---- configuration ----

    public TestDnsServer a(String name, String... addresses) {
        for (String a : addresses) {
            record(new ARecord(name(name), DClass.IN, TTL, literal(a)));
        }
        return this;
    }

    public TestDnsServer aaaa(String name, String... addresses) {
        for (String a : addresses) {
            record(new AAAARecord(name(name), DClass.IN, TTL, literal(a)));
        }
        return this;
    }

    public TestDnsServer cname(String name, String target) {
        return record(new CNAMERecord(name(name), DClass.IN, TTL, name(target)));
    }

    /** NS records at a zone apex this server is authoritative for (e.g. "." on a root server). */
    public TestDnsServer ns(String zone, String nsName) {
        return record(new NSRecord(name(zone), DClass.IN, TTL, name(nsName)));
    }

    /** Any record, served for its owner name. */
    public TestDnsServer record(Record r) {
        records.computeIfAbsent(r.getName(), k -> new CopyOnWriteArrayList<>()).add(r);
        return this;
    }

    /**
     * Delegates {@code zone} (and every name below it without records here) to {@code nsName}:
     * a referral with the NS in the authority section and {@code glue} (A/AAAA literals) in the
     * additional section; no glue makes a glueless delegation. Call again to add servers.
     */
    public TestDnsServer delegate(String zone, String nsName, String... glue) {
        List<InetAddress> g = new ArrayList<>();
        for (String a : glue) {
            g.add(literal(a));
        }
        delegations.computeIfAbsent(name(zone), k -> new CopyOnWriteArrayList<>())
                .add(new Delegation(name(nsName), List.copyOf(g)));
        return this;
    }

    /** Answers {@code name} with this rcode ({@link Rcode#NXDOMAIN}, SERVFAIL, REFUSED, ...). */
    public TestDnsServer rcode(String name, int rcode) {
        rcodes.put(name(name), rcode);
        return this;
    }

    /** Answers every name with this rcode; -1 goes back to normal answers. */
    public TestDnsServer rcodeAll(int rcode) {
        this.rcodeAll = rcode;
        return this;
    }

    /** The name exists but has no records: NOERROR with an empty answer. */
    public TestDnsServer nodata(String name) {
        nodata.add(name(name));
        return this;
    }

    /** Over UDP answers {@code name} with TC set and no records; over TCP in full. */
    public TestDnsServer truncate(String name) {
        truncated.add(name(name));
        return this;
    }

    public TestDnsServer truncateAll(boolean on) {
        this.truncateAll = on;
        return this;
    }

    /** Answers {@code name} after {@code delay}. */
    public TestDnsServer delay(String name, Duration delay) {
        delays.put(name(name), delay);
        return this;
    }

    public TestDnsServer delayAll(Duration delay) {
        this.delayAll = delay;
        return this;
    }

    /** Never answers {@code name} (the query is logged, then dropped). */
    public TestDnsServer silent(String name) {
        silent.add(name(name));
        return this;
    }

    /** Never answers anything while on (a dead authority). */
    public TestDnsServer silentAll(boolean on) {
        this.silentAll = on;
        return this;
    }

    /** Closes the TCP listener for good: TCP connects to this port are then refused. */
    public TestDnsServer disableTcp() {
        try {
            tcp.close();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return this;
    }

    // ---- query log ----

    public List<Query> queries() {
        return Collections.unmodifiableList(new ArrayList<>(log));
    }

    /** Queries received for {@code name} (any type, any transport). */
    public long count(String name) {
        Name n = name(name);
        return log.stream().filter(q -> name(q.name()).equals(n)).count();
    }

    public long count(String name, String transport) {
        Name n = name(name);
        return log.stream().filter(q -> name(q.name()).equals(n) && q.transport().equals(transport)).count();
    }

    public void clearLog() {
        log.clear();
    }

    @Override
    public void close() {
        closed = true;
        udp.close();
        try {
            tcp.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        threads.shutdownNow();
        delayed.shutdownNow();
        try {
            // the port is free again only once the serving threads have let go of the sockets
            threads.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- serving ----

    private void udpLoop() {
        byte[] buf = new byte[65535];
        while (!closed) {
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            try {
                udp.receive(p);
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                continue;
            }
            byte[] in = java.util.Arrays.copyOf(p.getData(), p.getLength());
            java.net.SocketAddress from = p.getSocketAddress();
            Message q;
            try {
                q = new Message(in);
            } catch (IOException e) {
                continue; // not DNS: ignore like a real server would
            }
            Answer a = answer(q, "udp");
            if (a == null) {
                continue;
            }
            byte[] out = a.message.toWire(65535);
            Runnable send = () -> {
                try {
                    udp.send(new DatagramPacket(out, out.length, from));
                } catch (IOException ignored) {
                    // client went away
                }
            };
            if (a.delay.isZero()) {
                send.run();
            } else {
                delayed.schedule(send, a.delay.toNanos(), TimeUnit.NANOSECONDS);
            }
        }
    }

    private void acceptLoop() {
        while (!closed && !tcp.isClosed()) {
            try {
                Socket s = tcp.accept();
                threads.execute(() -> serveTcp(s));
            } catch (IOException e) {
                if (closed || tcp.isClosed()) {
                    return;
                }
            }
        }
    }

    private void serveTcp(Socket s) {
        try (s; var in = new DataInputStream(s.getInputStream());
                var out = new DataOutputStream(s.getOutputStream())) {
            while (!closed) {
                int len;
                try {
                    len = in.readUnsignedShort();
                } catch (EOFException e) {
                    return;
                }
                byte[] b = new byte[len];
                in.readFully(b);
                Answer a = answer(new Message(b), "tcp");
                if (a == null) {
                    continue; // silent: keep the connection open, say nothing
                }
                if (!a.delay.isZero()) {
                    Thread.sleep(a.delay.toMillis());
                }
                byte[] wire = a.message.toWire(65535);
                out.writeShort(wire.length);
                out.write(wire);
                out.flush();
            }
        } catch (IOException e) {
            // client closed or sent garbage
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private record Answer(Message message, Duration delay) {
    }

    /** Null when the query is to go unanswered. */
    private Answer answer(Message query, String transport) {
        Record question = query.getQuestion();
        if (question == null) {
            return null;
        }
        Name qname = question.getName();
        int qtype = question.getType();
        boolean rd = query.getHeader().getFlag(Flags.RD);
        log.add(new Query(qname.toString(), qtype, transport, rd));
        if (silentAll || silent.contains(qname)) {
            return null;
        }
        Duration delay = delays.getOrDefault(qname, delayAll);

        Message r = new Message(query.getHeader().getID());
        r.getHeader().setFlag(Flags.QR);
        if (rd) {
            r.getHeader().setFlag(Flags.RD);
            r.getHeader().setFlag(Flags.RA);
        }
        r.addRecord(question, Section.QUESTION);
        Integer forced = rcodes.get(qname);
        if (forced == null && rcodeAll >= 0) {
            forced = rcodeAll;
        }
        if (forced != null) {
            r.getHeader().setRcode(forced);
            return new Answer(r, delay);
        }
        if ("udp".equals(transport) && (truncateAll || truncated.contains(qname))) {
            r.getHeader().setFlag(Flags.TC);
            return new Answer(r, delay);
        }
        List<Record> own = records.get(qname);
        if (own != null) {
            r.getHeader().setFlag(Flags.AA);
            addAnswers(r, qname, qtype, 0);
            return new Answer(r, delay);
        }
        Name zone = closestDelegation(qname);
        if (zone != null) {
            for (Delegation d : delegations.get(zone)) {
                r.addRecord(new NSRecord(zone, DClass.IN, TTL, d.ns()), Section.AUTHORITY);
                for (InetAddress g : d.glue()) {
                    r.addRecord(g.getAddress().length == 4
                            ? new ARecord(d.ns(), DClass.IN, TTL, g)
                            : new AAAARecord(d.ns(), DClass.IN, TTL, g), Section.ADDITIONAL);
                }
            }
            return new Answer(r, delay);
        }
        if (nodata.contains(qname)) {
            r.getHeader().setFlag(Flags.AA);
            return new Answer(r, delay);
        }
        r.getHeader().setFlag(Flags.AA);
        r.getHeader().setRcode(Rcode.NXDOMAIN);
        return new Answer(r, delay);
    }

    /** Records of the type, else the CNAME chased through this server's own data (bounded). */
    private void addAnswers(Message r, Name name, int qtype, int depth) {
        List<Record> own = records.getOrDefault(name, List.of());
        boolean any = false;
        for (Record rec : own) {
            if (rec.getType() == qtype) {
                r.addRecord(rec, Section.ANSWER);
                any = true;
            }
        }
        if (any || qtype == Type.CNAME || depth > 8) {
            return;
        }
        for (Record rec : own) {
            if (rec instanceof CNAMERecord c) {
                r.addRecord(c, Section.ANSWER);
                addAnswers(r, c.getTarget(), qtype, depth + 1);
                return;
            }
        }
    }

    private Name closestDelegation(Name qname) {
        Name best = null;
        for (Name zone : delegations.keySet()) {
            if (qname.subdomain(zone) && (best == null || zone.labels() > best.labels())) {
                best = zone;
            }
        }
        return best;
    }

    private static Name name(String s) {
        try {
            return Name.fromString(s.endsWith(".") ? s : s + ".");
        } catch (TextParseException e) {
            throw new IllegalArgumentException("bad DNS name " + s, e);
        }
    }

    private static InetAddress literal(String ip) {
        try {
            // an IP literal: getByName parses it without any lookup
            if (!ip.matches("[0-9A-Fa-f:.]+")) {
                throw new IllegalArgumentException("not an IP literal: " + ip);
            }
            return InetAddress.getByName(ip);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IP literal: " + ip, e);
        }
    }
}
