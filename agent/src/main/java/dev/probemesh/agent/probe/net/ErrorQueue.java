package dev.probemesh.agent.probe.net;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
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

    interface LibC extends Library {
        int setsockopt(int fd, int level, int name, IntByReference value, int len);

        long recvmsg(int fd, Pointer msghdr, int flags);

        int getsockopt(int fd, int level, int name, Pointer value, IntByReference len);
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
        try (Memory info = new Memory(256)) {
            info.clear();
            IntByReference len = new IntByReference(256);
            if (libc.getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, len) != 0 || len.getValue() < TCPI_RETRANS + 4) {
                return Optional.empty();
            }
            int retransmits = info.getByte(TCPI_RETRANSMITS) & 0xff;
            int retrans = info.getInt(TCPI_RETRANS);
            return Optional.of(retransmits > 0 && retrans == 0);
        }
    }

    private final LibC libc;

    private ErrorQueue(LibC libc) {
        this.libc = libc;
    }

    /** The error queue of this platform, or empty when JNA or the layout is not available here. */
    static Optional<ErrorQueue> load() {
        if (!Platform.isLinux() || !Platform.is64Bit() || Native.POINTER_SIZE != 8) {
            return Optional.empty();
        }
        try {
            return Optional.of(new ErrorQueue(Native.load("c", LibC.class)));
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            log.warn("socket error queue unavailable (JNA could not load libc): {}", e.toString());
            return Optional.empty();
        }
    }

    /** Asks the kernel to queue ICMP errors for this socket; false when it refused. */
    boolean enable(int fd, boolean ipv6) {
        IntByReference one = new IntByReference(1);
        int rc = ipv6 ? libc.setsockopt(fd, SOL_IPV6, IPV6_RECVERR, one, 4)
                : libc.setsockopt(fd, SOL_IP, IP_RECVERR, one, 4);
        return rc == 0;
    }

    /** Reads one queued error without blocking; empty when the queue is empty. */
    Optional<IcmpError> read(int fd) {
        try (Memory msg = new Memory(MSGHDR_SIZE); Memory iov = new Memory(16); Memory data = new Memory(DATA_SIZE);
                Memory control = new Memory(CONTROL_SIZE)) {
            msg.clear();
            control.clear();
            iov.setPointer(0, data);
            iov.setLong(8, DATA_SIZE);
            msg.setPointer(16, iov);
            msg.setLong(24, 1);
            msg.setPointer(32, control);
            msg.setLong(40, CONTROL_SIZE);
            long n = libc.recvmsg(fd, msg, MSG_ERRQUEUE | MSG_DONTWAIT);
            if (n < 0) {
                return Optional.empty();
            }
            long controlLen = msg.getLong(40);
            long off = 0;
            while (off + 16 <= controlLen) {
                long cmsgLen = control.getLong(off);
                int level = control.getInt(off + 8);
                int type = control.getInt(off + 12);
                if (cmsgLen < 16) {
                    break;
                }
                if ((level == SOL_IP && type == IP_RECVERR) || (level == SOL_IPV6 && type == IPV6_RECVERR)) {
                    return Optional.of(parse(control.share(off + 16, cmsgLen - 16), cmsgLen - 16));
                }
                off += (cmsgLen + 7) & ~7L;
            }
            return Optional.empty();
        }
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
