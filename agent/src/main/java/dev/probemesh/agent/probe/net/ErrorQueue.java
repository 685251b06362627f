package dev.probemesh.agent.probe.net;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Linux socket error queue through JNA: {@code setsockopt(IP_RECVERR / IPV6_RECVERR)} before
 * connect, and {@code recvmsg(fd, MSG_ERRQUEUE)} after a failure, which returns the ICMP error
 * that aborted a TCP connect in SYN_SENT (the kernel queues it there since Linux 5.13, for
 * unprivileged {@code traceroute -T}). This is how IPv4 admin-prohibited is told from
 * host-unreachable, which errno cannot, and how the rejecting device is named. Only LP64 Linux
 * (x86_64, aarch64) struct layouts are handled; elsewhere {@link #available()} is false.
 */
final class ErrorQueue {
    private static final Logger log = LoggerFactory.getLogger(ErrorQueue.class);

    private static final int SOL_IP = 0;
    private static final int IP_RECVERR = 11;
    private static final int SOL_IPV6 = 41;
    private static final int IPV6_RECVERR = 25;
    private static final int MSG_DONTWAIT = 0x40;
    private static final int MSG_ERRQUEUE = 0x2000;
    private static final int AF_INET = 2;
    private static final int AF_INET6 = 10;
    // LP64 layouts: struct msghdr is 56 bytes, struct iovec 16, struct cmsghdr header 16.
    private static final int MSGHDR_SIZE = 56;
    private static final int CONTROL_SIZE = 512;
    private static final int DATA_SIZE = 256;
    private static final int TCP_INFO_SIZE = 256;
    private static final int SOL_SOCKET = 1;
    private static final int SO_ERROR = 4;

    /**
     * libc through JNA's direct mapping: a JNI stub per method, no proxy, no boxing and no
     * argument conversion. Pointers are raw addresses into the calling thread's {@link Scratch}.
     * The connect path calls this once or twice per probe, so the interface mapping's cost (a
     * reflective proxy, an Object[] and a native Memory per by-reference argument) showed up.
     */
    static final class LibC {
        static {
            Native.register(LibC.class, "c");
        }

        private LibC() {
        }

        static native int setsockopt(int fd, int level, int name, long value, int len);

        static native long recvmsg(int fd, long msghdr, int flags);

        static native int getsockopt(int fd, int level, int name, long value, long len);
    }

    /**
     * One thread's native buffers, allocated once: msghdr, iovec, data, control, and an int pair
     * for getsockopt. Calls come from the connector's selector thread and from callers of
     * connect() (an immediate failure), hence one set per thread.
     */
    private static final class Scratch {
        static final long MSG = 0;
        static final long IOV = MSGHDR_SIZE;
        static final long DATA = IOV + 16;
        static final long CONTROL = DATA + DATA_SIZE;
        static final long VALUE = CONTROL + CONTROL_SIZE;
        static final long LEN = VALUE + TCP_INFO_SIZE;
        static final long SIZE = LEN + 8;

        final Memory mem = new Memory(SIZE);
        final long base = Pointer.nativeValue(mem);
    }

    private static final int IPPROTO_TCP = 6;
    private static final int TCP_INFO = 11;
    /** struct tcp_info: tcpi_retransmits is byte 2, tcpi_retrans (retransmitted segments in flight) is the u32 at 36. */
    private static final int TCPI_RETRANSMITS = 2;
    private static final int TCPI_RETRANS = 36;

    /**
     * True when a connect's SYN retransmissions all failed inside this host: the kernel retried
     * ({@code tcpi_retransmits > 0}) but none left ({@code tcpi_retrans == 0}; it counts only
     * retransmissions the stack managed to send). That is what a DROP in this host's own OUTPUT
     * chain does to TCP, which never sees the EPERM; a drop further away leaves tcpi_retrans at 1.
     * Empty when TCP_INFO cannot be read.
     */
    Optional<Boolean> synsFailedLocally(int fd) {
        Scratch b = scratch.get();
        b.mem.setMemory(Scratch.VALUE, TCP_INFO_SIZE, (byte) 0);
        b.mem.setInt(Scratch.LEN, TCP_INFO_SIZE);
        if (LibC.getsockopt(fd, IPPROTO_TCP, TCP_INFO, b.base + Scratch.VALUE, b.base + Scratch.LEN) != 0
                || b.mem.getInt(Scratch.LEN) < TCPI_RETRANS + 4) {
            return Optional.empty();
        }
        int retransmits = b.mem.getByte(Scratch.VALUE + TCPI_RETRANSMITS) & 0xff;
        int retrans = b.mem.getInt(Scratch.VALUE + TCPI_RETRANS);
        return Optional.of(retransmits > 0 && retrans == 0);
    }

    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    private ErrorQueue() {
    }

    /** The error queue of this platform, or empty when JNA or the layout is not available here. */
    static Optional<ErrorQueue> load() {
        if (!Platform.isLinux() || !Platform.is64Bit() || Native.POINTER_SIZE != 8) {
            return Optional.empty();
        }
        try {
            new LibC(); // binds the natives (class initialization), or fails here
            return Optional.of(new ErrorQueue());
        } catch (UnsatisfiedLinkError | ExceptionInInitializerError | NoClassDefFoundError | RuntimeException e) {
            log.warn("socket error queue unavailable (JNA could not load libc): {}", e.toString());
            return Optional.empty();
        }
    }

    /** Asks the kernel to queue ICMP errors for this socket; false when it refused. */
    boolean enable(int fd, boolean ipv6) {
        Scratch b = scratch.get();
        b.mem.setInt(Scratch.VALUE, 1);
        long one = b.base + Scratch.VALUE;
        int rc = ipv6 ? LibC.setsockopt(fd, SOL_IPV6, IPV6_RECVERR, one, 4)
                : LibC.setsockopt(fd, SOL_IP, IP_RECVERR, one, 4);
        return rc == 0;
    }

    /**
     * The socket's pending error (SO_ERROR, which reading clears), after the selector said a
     * non-blocking connect is done: 0 when it connected, else the errno that failed it; -1 when
     * getsockopt itself failed. One syscall, where the JDK's finishConnect makes two (poll and
     * getsockopt) and closes the channel on failure before the error queue could be read.
     */
    int pendingError(int fd) {
        Scratch b = scratch.get();
        b.mem.setInt(Scratch.VALUE, 0);
        b.mem.setInt(Scratch.LEN, 4);
        if (LibC.getsockopt(fd, SOL_SOCKET, SO_ERROR, b.base + Scratch.VALUE, b.base + Scratch.LEN) != 0) {
            return -1;
        }
        return b.mem.getInt(Scratch.VALUE);
    }

    /** Reads one queued error without blocking; empty when the queue is empty. */
    Optional<IcmpError> read(int fd) {
        Scratch b = scratch.get();
        Memory m = b.mem;
        m.setMemory(Scratch.MSG, MSGHDR_SIZE, (byte) 0);
        m.setMemory(Scratch.CONTROL, CONTROL_SIZE, (byte) 0);
        m.setLong(Scratch.IOV, b.base + Scratch.DATA);
        m.setLong(Scratch.IOV + 8, DATA_SIZE);
        m.setLong(Scratch.MSG + 16, b.base + Scratch.IOV);
        m.setLong(Scratch.MSG + 24, 1);
        m.setLong(Scratch.MSG + 32, b.base + Scratch.CONTROL);
        m.setLong(Scratch.MSG + 40, CONTROL_SIZE);
        long n = LibC.recvmsg(fd, b.base + Scratch.MSG, MSG_ERRQUEUE | MSG_DONTWAIT);
        if (n < 0) {
            return Optional.empty();
        }
        long controlLen = Math.min(m.getLong(Scratch.MSG + 40), CONTROL_SIZE);
        long off = 0;
        while (off + 16 <= controlLen) {
            long cmsgLen = m.getLong(Scratch.CONTROL + off);
            int level = m.getInt(Scratch.CONTROL + off + 8);
            int type = m.getInt(Scratch.CONTROL + off + 12);
            if (cmsgLen < 16) {
                break;
            }
            if ((level == SOL_IP && type == IP_RECVERR) || (level == SOL_IPV6 && type == IPV6_RECVERR)) {
                return Optional.of(parse(m.share(Scratch.CONTROL + off + 16, cmsgLen - 16), cmsgLen - 16));
            }
            off += (cmsgLen + 7) & ~7L;
        }
        return Optional.empty();
    }

    /** struct sock_extended_err followed by the offender's sockaddr (SO_EE_OFFENDER). */
    private static IcmpError parse(Pointer ee, long len) {
        int errno = ee.getInt(0);
        int origin = ee.getByte(4) & 0xff;
        int type = ee.getByte(5) & 0xff;
        int code = ee.getByte(6) & 0xff;
        InetAddress offender = null;
        if (len >= 16 + 8) {
            int family = ee.getShort(16) & 0xffff;
            try {
                if (family == AF_INET) {
                    offender = InetAddress.getByAddress(ee.getByteArray(16 + 4, 4));
                } else if (family == AF_INET6 && len >= 16 + 24) {
                    offender = InetAddress.getByAddress(ee.getByteArray(16 + 8, 16));
                }
            } catch (UnknownHostException e) {
                offender = null; // cannot happen for 4/16 bytes; the error is still useful without it
            }
        }
        return new IcmpError(origin, type, code, errno, offender);
    }
}
