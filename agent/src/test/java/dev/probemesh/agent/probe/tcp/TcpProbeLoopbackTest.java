package dev.probemesh.agent.probe.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.agent.policy.DestinationPolicy;
import dev.probemesh.agent.probe.ProbeEnv;
import dev.probemesh.agent.probe.ProbeResult;
import dev.probemesh.agent.probe.net.ConnectResult;
import dev.probemesh.agent.probe.net.FamilyDialer;
import dev.probemesh.agent.probe.net.HostCapabilities;
import dev.probemesh.agent.probe.net.TcpConnector;
import dev.probemesh.agent.probe.net.TestResolvers;
import dev.probemesh.agent.testing.TestCerts;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.Family;
import dev.probemesh.proto.v1.TcpParams;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The tcp probe against real loopback servers (no root needed). */
@Timeout(30)
class TcpProbeLoopbackTest {
    private static final HostCapabilities DUAL = new HostCapabilities(true, true, true, "iputils ping", Optional.empty());

    private static ScheduledExecutorService scheduler;
    private static TcpConnector connector;
    private static EventLoopGroup group;
    private static ExecutorService servers;
    private static ServerSocket plain;
    private static SSLServerSocket tlsServer;
    private static X509Certificate ca;

    @BeforeAll
    static void start() throws IOException {
        scheduler = Executors.newSingleThreadScheduledExecutor();
        connector = new TcpConnector();
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        servers = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "test-server");
            t.setDaemon(true);
            return t;
        });
        plain = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        servers.submit(() -> acceptLoop(plain));
        TestCerts cas = TestCerts.ca("probemesh test CA");
        ca = cas.certificate();
        var leaf = cas.leaf(List.of("localhost"), List.of("127.0.0.1"));
        tlsServer = (SSLServerSocket) leaf.serverContext().getServerSocketFactory()
                .createServerSocket(0, 50, InetAddress.getLoopbackAddress());
        servers.submit(() -> acceptLoop(tlsServer));
    }

    private static void acceptLoop(ServerSocket s) {
        while (!s.isClosed()) {
            try {
                Socket c = s.accept();
                servers.submit(() -> {
                    try (c) {
                        if (c instanceof SSLSocket ssl) {
                            ssl.setSoTimeout(5000);
                            ssl.startHandshake();
                            ssl.getInputStream().read(); // until the client closes
                        }
                    } catch (IOException e) {
                        // clients that reject the certificate abort the handshake: expected
                    }
                });
            } catch (IOException e) {
                return;
            }
        }
    }

    @AfterAll
    static void stop() throws IOException {
        plain.close();
        tlsServer.close();
        servers.shutdownNow();
        connector.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        scheduler.shutdownNow();
    }

    private static TcpProbe probe(DestinationPolicy policy, List<X509Certificate> trust, Map<String, List<String>> names) {
        ProbeEnv env = new ProbeEnv(scheduler, TestResolvers.table(names), policy, trust);
        return new TcpProbe(env, connector, new FamilyDialer(policy, () -> DUAL), new TlsHandshaker(group, trust));
    }

    private static ProbeResult run(TcpProbe probe, String target, Family family, TcpParams params) {
        Check c = Check.newBuilder().setId("t").setKind("tcp").setTarget(target).setFamily(family)
                .setTimeoutMs(3000).setTcp(params).build();
        return probe.run(c, System.nanoTime() + TimeUnit.SECONDS.toNanos(3)).toCompletableFuture().join();
    }

    private static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Test
    void reportsOkWithConnectTimeWhenPortListens() {
        ProbeResult r = run(probe(DestinationPolicy.allowAll(), List.of(), Map.of()), "127.0.0.1:" + plain.getLocalPort(),
                Family.FAMILY_IPV4, TcpParams.getDefaultInstance());
        assertThat(r.status()).isEqualTo(ProbeStatus.OK);
        assertThat(r.address()).isEqualTo("127.0.0.1");
        assertThat(r.family()).isEqualTo(Family.FAMILY_IPV4);
        assertThat(r.timings().connectUs()).isPositive();
        assertThat(r.timings().totalUs()).isGreaterThanOrEqualTo(r.timings().connectUs());
    }

    @Test
    void takesThePortFromTcpParamsWhenTheTargetHasNone() {
        ProbeResult r = run(probe(DestinationPolicy.allowAll(), List.of(), Map.of()), "127.0.0.1",
                Family.FAMILY_ANY, TcpParams.newBuilder().setPort(plain.getLocalPort()).build());
        assertThat(r.status()).isEqualTo(ProbeStatus.OK);
    }

    @Test
    void reportsRefusedWhenPortClosed() throws IOException {
        ProbeResult r = run(probe(DestinationPolicy.allowAll(), List.of(), Map.of()), "127.0.0.1:" + closedPort(),
                Family.FAMILY_IPV4, TcpParams.getDefaultInstance());
        assertThat(r.status()).isEqualTo(ProbeStatus.FAIL);
        assertThat(r.failure()).isEqualTo(FailureCode.REFUSED);
    }

    @Test
    void reportsDegradedWhenIpv6IsRefusedAndIpv4Answers() {
        // The listener is bound to 127.0.0.1 only, so ::1 on the same port refuses.
        TcpProbe p = probe(DestinationPolicy.allowAll(), List.of(), Map.of("dual.test", List.of("::1", "127.0.0.1")));
        ProbeResult r = run(p, "dual.test:" + plain.getLocalPort(), Family.FAMILY_ANY, TcpParams.getDefaultInstance());
        assertThat(r.status()).isEqualTo(ProbeStatus.DEGRADED);
        assertThat(r.failure()).isEqualTo(FailureCode.REFUSED);
        assertThat(r.family()).isEqualTo(Family.FAMILY_IPV4);
        assertThat(r.detail()).startsWith("ipv6 ::1 REFUSED, fell back to ipv4 127.0.0.1");
    }

    @Test
    void reportsTheResolversFailureCode() {
        ProbeResult r = run(probe(DestinationPolicy.allowAll(), List.of(), Map.of()), "missing.test:80",
                Family.FAMILY_ANY, TcpParams.getDefaultInstance());
        assertThat(r.failure()).isEqualTo(FailureCode.DNS_NXDOMAIN);
    }

    @Test
    void neverDialsADeniedAddress() {
        DestinationPolicy denyLoopback = a -> a.isLoopbackAddress()
                ? Optional.of("denied by rule 127.0.0.0/8 (loopback)") : Optional.empty();
        ProbeResult r = run(probe(denyLoopback, List.of(), Map.of()), "127.0.0.1:" + plain.getLocalPort(),
                Family.FAMILY_IPV4, TcpParams.getDefaultInstance());
        assertThat(r.failure()).isEqualTo(FailureCode.POLICY_DENIED);
        assertThat(r.detail()).contains("denied by rule 127.0.0.0/8 (loopback)");
    }

    @Test
    void completesATlsHandshakeWithSni() {
        TcpProbe p = probe(DestinationPolicy.allowAll(), List.of(ca), Map.of("localhost", List.of("127.0.0.1")));
        ProbeResult r = run(p, "localhost:" + tlsServer.getLocalPort(), Family.FAMILY_IPV4,
                TcpParams.newBuilder().setTls(true).build());
        assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
        assertThat(r.attributes()).containsKey("tls_version");
        assertThat(r.timings().tlsUs()).isPositive();
    }

    @Test
    void reportsUntrustedWhenTheCaIsNotTrusted() {
        TcpProbe p = probe(DestinationPolicy.allowAll(), List.of(), Map.of("localhost", List.of("127.0.0.1")));
        ProbeResult r = run(p, "localhost:" + tlsServer.getLocalPort(), Family.FAMILY_IPV4,
                TcpParams.newBuilder().setTls(true).build());
        assertThat(r.failure()).as(r.detail()).isEqualTo(FailureCode.TLS_CERT_UNTRUSTED);
    }

    @Test
    void reportsHostnameMismatchForAnotherServerName() {
        TcpProbe p = probe(DestinationPolicy.allowAll(), List.of(ca), Map.of());
        ProbeResult r = run(p, "127.0.0.1:" + tlsServer.getLocalPort(), Family.FAMILY_IPV4,
                TcpParams.newBuilder().setTls(true).setServerName("other.example.test").build());
        assertThat(r.failure()).as(r.detail()).isEqualTo(FailureCode.TLS_HOSTNAME_MISMATCH);
        assertThat(r.attributes()).containsEntry("server_name", "other.example.test");
    }

    @Test
    void handlesAThousandConnectsInFlightOnOneThread() throws IOException {
        try (ServerSocketChannel s = ServerSocketChannel.open()) {
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 2048);
            int refusedPort = closedPort();
            List<CompletableFuture<ConnectResult>> all = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            for (int i = 0; i < 1000; i++) {
                int port = i % 2 == 0 ? s.socket().getLocalPort() : refusedPort;
                all.add(connector.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), deadline)
                        .toCompletableFuture());
            }
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
            long connected = 0;
            for (CompletableFuture<ConnectResult> f : all) {
                if (f.join() instanceof ConnectResult.Connected c) {
                    connected++;
                    c.channel().close();
                } else {
                    assertThat(((ConnectResult.Failed) f.join()).code()).isEqualTo(FailureCode.REFUSED);
                }
            }
            assertThat(connected).isEqualTo(500);
        }
    }

    /**
     * A service that accepts and at once resets (SO_LINGER 0) still completed the handshake: the
     * port is open. The reset can reach the socket before the selector finishes the connect, so
     * many connects in flight make that race happen for sure.
     */
    @Test
    void aConnectionResetRightAfterTheHandshakeStillCountsAsConnected() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 2048, InetAddress.getLoopbackAddress())) {
            Thread resetter = new Thread(() -> {
                while (!s.isClosed()) {
                    try (java.net.Socket c = s.accept()) {
                        c.setSoLinger(true, 0);
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "resetter");
            resetter.setDaemon(true);
            resetter.start();
            List<CompletableFuture<ConnectResult>> all = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            for (int i = 0; i < 500; i++) {
                all.add(connector.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), s.getLocalPort()),
                        deadline).toCompletableFuture());
            }
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
            List<String> failed = new ArrayList<>();
            for (CompletableFuture<ConnectResult> f : all) {
                if (f.join() instanceof ConnectResult.Connected c) {
                    c.channel().close();
                } else {
                    failed.add(((ConnectResult.Failed) f.join()).detail());
                }
            }
            assertThat(failed).isEmpty();
        }
    }

    @Test
    void aConnectOnlyAttemptClosesTheSocketItselfOnceConnected() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            ConnectResult r = connector.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(),
                    s.getLocalPort()), deadline, false).toCompletableFuture().join();
            assertThat(r).isInstanceOf(ConnectResult.Connected.class);
            assertThat(((ConnectResult.Connected) r).channel().isOpen()).isFalse();
            try (Socket accepted = s.accept()) {
                // The handshake completed (the server accepted it) and the prober hung up: EOF.
                accepted.setSoTimeout(5000);
                assertThat(accepted.getInputStream().read()).isEqualTo(-1);
            }
        }
    }

    @Test
    void aKeptConnectionIsHandedOverConnectedAndOpen() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            ConnectResult r = connector.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(),
                    s.getLocalPort()), deadline, true).toCompletableFuture().join();
            assertThat(r).isInstanceOf(ConnectResult.Connected.class);
            try (var ch = ((ConnectResult.Connected) r).channel(); Socket accepted = s.accept()) {
                assertThat(ch.isConnected()).isTrue();
                ch.configureBlocking(true);
                ch.write(java.nio.ByteBuffer.wrap(new byte[] {42}));
                accepted.setSoTimeout(5000);
                assertThat(accepted.getInputStream().read()).isEqualTo(42);
            }
        }
    }

    @Test
    void aConnectorWithACompletionExecutorCompletesOnItForSuccessAndRefusal() throws Exception {
        ExecutorService completions = Executors.newSingleThreadExecutor(r -> new Thread(r, "test-completions"));
        try (TcpConnector own = new TcpConnector(completions);
                ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            for (int port : new int[] {s.getLocalPort(), closedPort()}) {
                String thread = own.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), deadline,
                        false).thenApply(r -> Thread.currentThread().getName()).toCompletableFuture().join();
                assertThat(thread).isEqualTo("test-completions");
            }
        } finally {
            completions.shutdownNow();
        }
    }
}
