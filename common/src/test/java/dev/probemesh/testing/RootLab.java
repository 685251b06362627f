package dev.probemesh.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Gate for tests that need root and network namespaces. On a laptop without root they skip with
 * a message saying why; in CI ({@code CI=true}) a missing capability is a failure, never a skip.
 */
public final class RootLab {
    private RootLab() {
    }

    public static void require() {
        String missing = missing();
        if (missing == null) {
            return;
        }
        String msg = "needs root and ip netns (" + missing + ")";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            Assertions.fail("CI=true but this machine cannot run namespace tests: " + msg);
        }
        Assumptions.abort("skipped: " + msg + "; run as root, or set CI=true to make this a failure");
    }

    /**
     * Gate for tests that need something CI installs (unbound, ping, an IPv6 loopback): a skip
     * with the reason on a laptop, a failure in CI, where a skipped test would prove nothing.
     */
    public static void requireThat(boolean available, String missing) {
        if (available) {
            return;
        }
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            Assertions.fail("CI=true but " + missing);
        }
        Assumptions.abort("skipped: " + missing);
    }

    /** Null when root and ip netns are available, else what is missing. */
    public static String missing() {
        try {
            String uid = Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("Uid:")).findFirst().orElse("Uid: -1");
            if (!uid.split("\\s+")[1].equals("0")) {
                return "not running as root";
            }
        } catch (IOException e) {
            return "cannot read /proc/self/status";
        }
        if (!Files.isExecutable(Path.of("/usr/sbin/ip")) && !Files.isExecutable(Path.of("/sbin/ip"))
                && !Files.isExecutable(Path.of("/usr/bin/ip"))) {
            return "iproute2 'ip' not installed";
        }
        return null;
    }
}
