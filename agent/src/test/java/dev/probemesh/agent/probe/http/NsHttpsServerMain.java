package dev.probemesh.agent.probe.http;

import dev.probemesh.agent.testing.TestCerts;
import dev.probemesh.agent.testing.TestHttpServer;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Child process for {@link HttpsLocalFirewallNamespaceTest}, started in the server namespace: a
 * real HTTPS server on every address of the namespace (one dual-stack socket), presenting a leaf
 * for the IPs given as arguments, signed by a fresh CA whose PEM it writes to the file named first.
 * Prints {@code LISTENING <port>}; lives at most 3 minutes.
 */
public final class NsHttpsServerMain {
    private NsHttpsServerMain() {
    }

    public static void main(String[] args) throws Exception {
        TestCerts ca = TestCerts.ca("probemesh netns test CA");
        TestCerts.Issued leaf = ca.leaf(List.of(), List.of(args).subList(1, args.length));
        Files.writeString(Path.of(args[0]), ca.pem(), StandardCharsets.US_ASCII);
        try (TestHttpServer https = TestHttpServer.https(InetAddress.getByName("::"), leaf,
                seen -> TestHttpServer.Reply.of(200, "hello from the server namespace"))) {
            System.out.println("LISTENING " + https.port());
            System.out.flush();
            Thread.sleep(TimeUnit.MINUTES.toMillis(3));
        }
        System.exit(0);
    }
}
