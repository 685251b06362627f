package dev.probemesh.agent.probe.net;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Field;
import java.nio.channels.SocketChannel;
import java.util.OptionalInt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The file descriptor number behind a JDK {@link SocketChannel} ({@code sun.nio.ch.SocketChannelImpl.fdVal}),
 * which the error-queue calls need. Tried in order: plain reflection (works when the JVM runs with
 * {@code --add-opens java.base/sun.nio.ch=ALL-UNNAMED}), then {@code sun.misc.Unsafe} field access
 * (module jdk.unsupported, needs no flag on JDK 17-21). When neither works, probes still run and
 * report EHOSTUNREACH as HOST_UNREACHABLE with "ICMP type could not be read".
 */
final class SocketFds {
    private static final Logger log = LoggerFactory.getLogger(SocketFds.class);

    @FunctionalInterface
    private interface Reader {
        int fd(SocketChannel ch) throws ReflectiveOperationException;
    }

    private final Reader reader;
    private final String how;

    private SocketFds(Reader reader, String how) {
        this.reader = reader;
        this.how = how;
    }

    /** A reader for this JVM, or null when the fd cannot be read here. */
    static SocketFds load() {
        Field fdVal;
        try {
            fdVal = Class.forName("sun.nio.ch.SocketChannelImpl").getDeclaredField("fdVal");
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.warn("cannot find sun.nio.ch.SocketChannelImpl.fdVal: {}", e.toString());
            return null;
        }
        try {
            fdVal.setAccessible(true);
            return new SocketFds(fdVal::getInt, "reflection");
        } catch (RuntimeException e) {
            // InaccessibleObjectException without --add-opens: try Unsafe below.
        }
        try {
            Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
            Field theUnsafe = unsafeClass.getDeclaredField("theUnsafe");
            theUnsafe.setAccessible(true);
            Object unsafe = theUnsafe.get(null);
            long offset = (long) unsafeClass.getMethod("objectFieldOffset", Field.class).invoke(unsafe, fdVal);
            // A method handle, not Method.invoke: this runs once per connect, and reflection boxes
            // its arguments and checks access on every call.
            MethodHandle getInt = MethodHandles.lookup()
                    .unreflect(unsafeClass.getMethod("getInt", Object.class, long.class)).bindTo(unsafe);
            return new SocketFds(ch -> {
                try {
                    return (int) getInt.invokeExact((Object) ch, offset);
                } catch (Throwable t) {
                    throw new ReflectiveOperationException(t);
                }
            }, "unsafe");
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.warn("cannot read socket fds (run with --add-opens java.base/sun.nio.ch=ALL-UNNAMED): {}", e.toString());
            return null;
        }
    }

    OptionalInt fd(SocketChannel ch) {
        try {
            int fd = reader.fd(ch);
            return fd >= 0 ? OptionalInt.of(fd) : OptionalInt.empty();
        } catch (ReflectiveOperationException | RuntimeException e) {
            return OptionalInt.empty();
        }
    }

    String how() {
        return how;
    }
}
