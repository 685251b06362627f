package dev.probemesh.e2e.bench;

import com.sun.management.OperatingSystemMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;

/**
 * Benchmark (not a test): the floor under {@link ProbeBench}, the least a JVM prober can spend
 * per probe through JDK NIO on this machine. One thread, one selector, no probe logic, no
 * result, no parsing, the same number in flight against the same loopback target:
 * <ul>
 *   <li>{@code tcp}: open a non-blocking socket, connect, wait for OP_CONNECT, finishConnect,
 *       close (what any JDK NIO connect check must do; most of its CPU is the kernel's TCP
 *       handshake and teardown on both ends of loopback, charged to the connecting process).
 *   <li>{@code dns}: a fixed {@code bench.test A} query (only the id changes) over 4 connected
 *       UDP sockets; an answer frees its slot, nothing is decoded. A slot unanswered for 1 s is
 *       counted lost and reused.
 * </ul>
 * Prints {@code floor_<kind>_per_s}, {@code floor_<kind>_cpu_ms_per_1k} and the user/sys split, so
 * the agent's CPU per probe can be read against it. Bounded by time (and the loop by in-flight).
 * {@code java -cp <e2e test classpath> dev.probemesh.e2e.bench.NioFloorBench tcp|dns HOST:PORT SECONDS [IN_FLIGHT]}.
 */
public final class NioFloorBench {
    private NioFloorBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: NioFloorBench tcp|dns HOST:PORT SECONDS [IN_FLIGHT]");
            System.exit(2);
        }
        String kind = args[0];
        int colon = args[1].lastIndexOf(':');
        InetSocketAddress target = new InetSocketAddress(args[1].substring(0, colon),
                Integer.parseInt(args[1].substring(colon + 1)));
        long seconds = Long.parseLong(args[2]);
        int inFlight = args.length > 3 ? Integer.parseInt(args[3]) : 256;
        if (!kind.equals("tcp") && !kind.equals("dns")) {
            throw new IllegalArgumentException("kind must be tcp or dns: " + kind);
        }
        // Warmup (JIT), then the measured phase; the loop is the same.
        loop(kind, target, 5, inFlight);
        OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long cpu0 = os.getProcessCpuTime();
        long[] t0 = userSysTicks();
        long start = System.nanoTime();
        long done = loop(kind, target, seconds, inFlight);
        double secs = (System.nanoTime() - start) / 1e9;
        long cpu = os.getProcessCpuTime() - cpu0;
        long[] t1 = userSysTicks();
        System.out.println("# floor " + kind + " target=" + args[1] + " in_flight=" + inFlight + " done=" + done
                + " elapsed_s=" + String.format("%.2f", secs) + " cpu_s=" + String.format("%.2f", cpu / 1e9)
                + (t0 != null && t1 != null && done > 0
                        ? " user_ms_per_1k=" + String.format("%.1f", (t1[0] - t0[0]) * 10.0 / (done / 1000.0))
                                + " sys_ms_per_1k=" + String.format("%.1f", (t1[1] - t0[1]) * 10.0 / (done / 1000.0))
                        : ""));
        System.out.println("floor_" + kind + "_per_s=" + Math.round(done / secs));
        System.out.println("floor_" + kind + "_cpu_ms_per_1k=" + String.format("%.1f", done == 0 ? 0.0 : cpu / 1e6 / (done / 1000.0)));
    }

    private static long loop(String kind, InetSocketAddress target, long seconds, int inFlight) throws IOException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        return kind.equals("tcp") ? tcp(target, end, inFlight) : dns(target, end, inFlight);
    }

    private static long tcp(InetSocketAddress target, long end, int inFlight) throws IOException {
        long done = 0;
        int open = 0;
        try (Selector sel = Selector.open()) {
            while (System.nanoTime() - end < 0) {
                while (open < inFlight) {
                    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.INET);
                    ch.configureBlocking(false);
                    if (ch.connect(target)) {
                        ch.close();
                        done++;
                        continue;
                    }
                    ch.register(sel, SelectionKey.OP_CONNECT);
                    open++;
                }
                sel.select(100);
                for (Iterator<SelectionKey> it = sel.selectedKeys().iterator(); it.hasNext(); ) {
                    SelectionKey k = it.next();
                    it.remove();
                    SocketChannel ch = (SocketChannel) k.channel();
                    k.cancel();
                    try {
                        ch.finishConnect();
                    } catch (IOException e) {
                        // a refused connect still counts as one finished attempt
                    }
                    ch.close();
                    open--;
                    done++;
                }
            }
            for (SelectionKey k : sel.keys()) {
                k.channel().close();
            }
        }
        return done;
    }

    private static long dns(InetSocketAddress target, long end, int inFlight) throws IOException {
        byte[] query = benchQuery();
        int sockets = 4;
        long done = 0;
        // sent[id] = send time (0 = free); ids are spread over the 4 sockets by id % 4.
        long[] sent = new long[0x10000];
        int nextId = 0;
        int open = 0;
        ByteBuffer out = ByteBuffer.allocateDirect(512);
        ByteBuffer in = ByteBuffer.allocateDirect(4096);
        DatagramChannel[] chs = new DatagramChannel[sockets];
        try (Selector sel = Selector.open()) {
            for (int i = 0; i < sockets; i++) {
                chs[i] = DatagramChannel.open(StandardProtocolFamily.INET);
                chs[i].configureBlocking(false);
                chs[i].connect(target);
                chs[i].register(sel, SelectionKey.OP_READ, i);
            }
            long nextSweep = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
            while (System.nanoTime() - end < 0) {
                while (open < inFlight) {
                    int id = nextId;
                    nextId = (nextId + 1) & 0xffff;
                    if (sent[id] != 0) {
                        continue;
                    }
                    out.clear();
                    out.put(query).flip();
                    out.putShort(0, (short) id);
                    chs[id % sockets].write(out);
                    sent[id] = System.nanoTime();
                    open++;
                }
                sel.select(100);
                for (Iterator<SelectionKey> it = sel.selectedKeys().iterator(); it.hasNext(); ) {
                    SelectionKey k = it.next();
                    it.remove();
                    DatagramChannel ch = (DatagramChannel) k.channel();
                    for (int i = 0; i < 256; i++) {
                        in.clear();
                        if (ch.read(in) <= 0) {
                            break;
                        }
                        int id = in.getShort(0) & 0xffff;
                        if (sent[id] != 0) {
                            sent[id] = 0;
                            open--;
                            done++;
                        }
                    }
                }
                long now = System.nanoTime();
                if (now - nextSweep >= 0) {
                    nextSweep = now + TimeUnit.MILLISECONDS.toNanos(100);
                    for (int id = 0; id < sent.length; id++) {
                        if (sent[id] != 0 && now - sent[id] > TimeUnit.SECONDS.toNanos(1)) {
                            sent[id] = 0; // lost: free the slot
                            open--;
                        }
                    }
                }
            }
        } finally {
            for (DatagramChannel ch : chs) {
                if (ch != null) {
                    ch.close();
                }
            }
        }
        return done;
    }

    /** {@code bench.test. A IN}, recursion desired, id 0 (overwritten per send). */
    private static byte[] benchQuery() {
        ByteBuffer b = ByteBuffer.allocate(64);
        b.putShort((short) 0).putShort((short) 0x0100).putShort((short) 1).putShort((short) 0)
                .putShort((short) 0).putShort((short) 0);
        for (String label : new String[] {"bench", "test"}) {
            b.put((byte) label.length()).put(label.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }
        b.put((byte) 0).putShort((short) 1).putShort((short) 1);
        byte[] q = new byte[b.position()];
        b.flip().get(q);
        return q;
    }

    private static long[] userSysTicks() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return new long[] {Long.parseLong(f[11]), Long.parseLong(f[12])};
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
