package dev.probemesh.agent.probe.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.agent.policy.AgentPolicy;
import dev.probemesh.agent.policy.DestinationPolicy;
import dev.probemesh.agent.probe.ProbeEnv;
import dev.probemesh.agent.probe.ProbeResult;
import dev.probemesh.agent.probe.net.DnsTransport;
import dev.probemesh.agent.probe.net.DnsjavaAddressResolver;
import dev.probemesh.agent.testing.TestDnsServer;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.DnsParams;
import dev.probemesh.proto.v1.Family;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.xbill.DNS.Rcode;

@Timeout(20)
class DnsProbeTest {
    private static ScheduledExecutorService scheduler;
    private static ExecutorService callbacks;
    private static DnsTransport transport;
    private TestDnsServer dns;

    @BeforeAll
    static void startTransport() {
        scheduler = Executors.newSingleThreadScheduledExecutor();
        callbacks = Executors.newFixedThreadPool(2);
        transport = new DnsTransport(scheduler, callbacks);
    }

    @AfterAll
    static void stopTransport() {
        transport.close();
        callbacks.shutdownNow();
        scheduler.shutdownNow();
    }

    @BeforeEach
    void startServer() {
        dns = TestDnsServer.start();
        dns.a("origin.example.test", "203.0.113.10")
                .aaaa("origin.example.test", "2001:db8:113::10")
                .cname("home.example.test", "origin.example.test")
                .rcode("nx.example.test", Rcode.NXDOMAIN)
                .rcode("broken.example.test", Rcode.SERVFAIL)
                .rcode("refused.example.test", Rcode.REFUSED);
    }

    @AfterEach
    void stopServer() {
        dns.close();
    }

    private DnsProbe probe(DestinationPolicy policy) {
        ProbeEnv env = new ProbeEnv(scheduler,
                DnsjavaAddressResolver.system(transport, () -> false), policy, List.of());
        return new DnsProbe(env, transport, () -> List.of(dns.address()));
    }

    private ProbeResult run(DnsParams.Builder params, String target, Family family, long timeoutMs) throws Exception {
        Check check = Check.newBuilder().setId("t").setKind("dns").setTarget(target).setFamily(family)
                .setTimeoutMs((int) timeoutMs).setDns(params).build();
        return probe(DestinationPolicy.allowAll())
                .run(check, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs))
                .toCompletableFuture().get(15, TimeUnit.SECONDS);
    }

    private DnsParams.Builder params(String transport) {
        return DnsParams.newBuilder().setResolver(dns.hostPort()).setTransport(transport).setRecursionDesired(true);
    }

    @ParameterizedTest
    @ValueSource(strings = {"udp", "tcp"})
    void answersWithAddressesAndAttributes(String via) throws Exception {
        ProbeResult r = run(params(via), "origin.example.test", Family.FAMILY_IPV4, 2000);

        assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
        assertThat(r.attributes()).containsEntry("rcode", "NOERROR").containsEntry("answers", "203.0.113.10")
                .containsEntry("transport", via).containsEntry("resolver", dns.hostPort()).containsEntry("ttl_min", "5");
        assertThat(r.address()).isEqualTo(dns.hostPort());
        assertThat(r.family()).isEqualTo(Family.FAMILY_IPV4);
        assertThat(r.timings().totalUs()).isPositive();
        if (via.equals("tcp")) {
            assertThat(r.timings().connectUs()).isPositive();
        }
        assertThat(dns.count("origin.example.test", via)).isEqualTo(1);
    }

    @ParameterizedTest(name = "{0} over {1} -> {2}")
    @CsvSource({
        "nx.example.test, udp, DNS_NXDOMAIN",
        "nx.example.test, tcp, DNS_NXDOMAIN",
        "unknown.example.test, udp, DNS_NXDOMAIN",
        "broken.example.test, udp, DNS_SERVFAIL",
        "broken.example.test, tcp, DNS_SERVFAIL",
        "refused.example.test, udp, DNS_REFUSED",
        "refused.example.test, tcp, DNS_REFUSED",
    })
    void mapsRcodesToFailureCodes(String name, String via, FailureCode expected) throws Exception {
        ProbeResult r = run(params(via), name, Family.FAMILY_ANY, 2000);

        assertThat(r.status()).isEqualTo(ProbeStatus.FAIL);
        assertThat(r.failure()).as(r.detail()).isEqualTo(expected);
        assertThat(r.attributes()).containsKey("rcode");
        assertThat(r.detail()).contains(name).contains(dns.hostPort());
    }

    @ParameterizedTest
    @ValueSource(strings = {"udp", "tcp"})
    void reportsNodataWhenTheNameHasNoRecordsOfTheType(String via) throws Exception {
        dns.a("v4only.example.test", "203.0.113.11");

        ProbeResult r = run(params(via).setQtype("AAAA"), "v4only.example.test", Family.FAMILY_ANY, 2000);

        assertThat(r.failure()).as(r.detail()).isEqualTo(FailureCode.DNS_NODATA);
        assertThat(r.attributes()).containsEntry("rcode", "NOERROR");
    }

    @Test
    void followsCnameChainAndReportsIt() throws Exception {
        ProbeResult r = run(params("udp"), "home.example.test", Family.FAMILY_ANY, 2000);

        assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
        assertThat(r.attributes()).containsEntry("answers", "203.0.113.10")
                .containsEntry("chain", "home.example.test,origin.example.test");
    }

    @Test
    void retriesOverTcpWhenTheUdpAnswerIsTruncated() throws Exception {
        dns.truncate("origin.example.test");

        ProbeResult r = run(params("udp"), "origin.example.test", Family.FAMILY_ANY, 2000);

        assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
        assertThat(r.attributes()).containsEntry("transport", "tcp").containsEntry("answers", "203.0.113.10");
        assertThat(dns.count("origin.example.test", "udp")).isEqualTo(1);
        assertThat(dns.count("origin.example.test", "tcp")).isEqualTo(1);
    }

    @Test
    void reportsTruncatedTcpFailedWhenTheTcpRetryIsRefused() throws Exception {
        dns.truncate("origin.example.test").disableTcp();

        ProbeResult r = run(params("udp"), "origin.example.test", Family.FAMILY_ANY, 2000);

        assertThat(r.failure()).as(r.detail()).isEqualTo(FailureCode.DNS_TRUNCATED_TCP_FAILED);
        assertThat(r.detail()).contains("truncated").contains("refused");
    }

    @ParameterizedTest
    @ValueSource(strings = {"udp", "tcp"})
    void acceptsASlowAnswerWithinTheDeadline(String via) throws Exception {
        dns.delay("origin.example.test", Duration.ofMillis(300));

        ProbeResult r = run(params(via), "origin.example.test", Family.FAMILY_ANY, 3000);

        assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
    }

    @ParameterizedTest
    @ValueSource(strings = {"udp", "tcp"})
    void reportsTimeoutWhenTheResolverIsSilent(String via) throws Exception {
        dns.silent("origin.example.test");

        ProbeResult r = run(params(via), "origin.example.test", Family.FAMILY_ANY, 600);

        assertThat(r.failure()).as(r.detail()).isEqualTo(FailureCode.DNS_TIMEOUT);
        assertThat(r.detail()).contains(dns.hostPort());
    }

    @Test
    void retransmitsOnceOverUdpBeforeGivingUp() throws Exception {
        dns.silent("origin.example.test");

        run(params("udp"), "origin.example.test", Family.FAMILY_ANY, 600);

        assertThat(dns.count("origin.example.test", "udp")).isEqualTo(2);
    }

    @ParameterizedTest(name = "expect {0} -> {1}")
    @CsvSource({
        "203.0.113.10, OK",
        "203.0.113.99, DNS_UNEXPECTED_ANSWER",
    })
    void checksExpectedAddresses(String expected, String outcome) throws Exception {
        ProbeResult r = run(params("udp").addExpectAddresses(expected), "origin.example.test", Family.FAMILY_ANY, 2000);

        assertThat(r.failure() == null ? "OK" : r.failure().name()).as(r.detail()).isEqualTo(outcome);
    }

    @ParameterizedTest(name = "AAAA expect {0} -> {1}")
    @CsvSource({
        "2001:db8:113::10, OK",
        "2001:DB8:113:0:0:0:0:10, OK",
        "2001:db8:113::99, DNS_UNEXPECTED_ANSWER",
        "203.0.113.10, DNS_UNEXPECTED_ANSWER",
    })
    void checksExpectedIpv6AddressesWhateverTheirSpelling(String expected, String outcome) throws Exception {
        ProbeResult r = run(params("udp").setQtype("AAAA").addExpectAddresses(expected), "origin.example.test",
                Family.FAMILY_ANY, 2000);

        assertThat(r.failure() == null ? "OK" : r.failure().name()).as(r.detail()).isEqualTo(outcome);
    }

    @ParameterizedTest(name = "regex {0} -> {1}")
    @CsvSource({
        "'CNAME\\s+origin\\.example\\.test', OK",
        "'203\\.0\\.113\\.10$', OK",
        "'198\\.51\\.100\\.', DNS_UNEXPECTED_ANSWER",
    })
    void checksTheAnswerAgainstARegex(String regex, String outcome) throws Exception {
        ProbeResult r = run(params("udp").setExpectRegex(regex), "home.example.test", Family.FAMILY_ANY, 2000);

        assertThat(r.failure() == null ? "OK" : r.failure().name()).as(r.detail()).isEqualTo(outcome);
    }

    @ParameterizedTest(name = "{0} expecting {1} -> {2}")
    @CsvSource({
        "nx.example.test, NXDOMAIN, OK",
        "origin.example.test, NXDOMAIN, DNS_UNEXPECTED_ANSWER",
        "broken.example.test, NXDOMAIN, DNS_SERVFAIL",
        "origin.example.test, NOERROR, OK",
    })
    void checksTheExpectedRcode(String name, String rcode, String outcome) throws Exception {
        ProbeResult r = run(params("udp").setExpectRcode(rcode), name, Family.FAMILY_ANY, 2000);

        assertThat(r.failure() == null ? "OK" : r.failure().name()).as(r.detail()).isEqualTo(outcome);
    }

    @Test
    void reportsRefusedWhenNothingListensOnTheUdpPort() throws Exception {
        int port;
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        DnsParams.Builder p = DnsParams.newBuilder().setResolver("127.0.0.1:" + port).setRecursionDesired(true);

        ProbeResult r = run(p, "origin.example.test", Family.FAMILY_ANY, 2000);

        assertThat(r.failure()).as(r.detail()).isEqualTo(FailureCode.REFUSED);
        assertThat(r.detail()).contains("port unreachable");
    }

    @Test
    void reportsRefusedWhenNothingListensOnTheTcpPort() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        DnsParams.Builder p = DnsParams.newBuilder().setResolver("127.0.0.1:" + port).setTransport("tcp");

        ProbeResult r = run(p, "origin.example.test", Family.FAMILY_ANY, 2000);

        assertThat(r.failure()).as(r.detail()).isEqualTo(FailureCode.REFUSED);
    }

    @Test
    void rejectsAnExpectedAddressThatIsNotAnIpAddressWithoutAsking() throws Exception {
        ProbeResult r = run(params("udp").addExpectAddresses("not-an-ip"), "origin.example.test", Family.FAMILY_ANY, 2000);

        assertThat(r.status()).isEqualTo(ProbeStatus.ERROR);
        assertThat(r.failure()).isEqualTo(FailureCode.INTERNAL);
        assertThat(r.detail()).contains("dns.expect-addresses").contains("not-an-ip");
        assertThat(dns.queries()).isEmpty();
    }

    @Test
    void runsOneCheckAgainAndAgainWithItsSpecParsedOnceAndEveryRunAsked() throws Exception {
        Check check = Check.newBuilder().setId("t").setKind("dns").setTarget("origin.example.test")
                .setFamily(Family.FAMILY_ANY).setTimeoutMs(2000)
                .setDns(params("udp").addExpectAddresses("203.0.113.10")).build();
        DnsProbe p = probe(DestinationPolicy.allowAll());
        for (int i = 0; i < 3; i++) {
            ProbeResult r = p.run(check, System.nanoTime() + TimeUnit.SECONDS.toNanos(2))
                    .toCompletableFuture().get(15, TimeUnit.SECONDS);
            assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
        }
        assertThat(dns.count("origin.example.test", "udp")).isEqualTo(3);
    }

    @Test
    void rejectsAResolverOfTheOtherFamilyThanThePinnedOne() throws Exception {
        ProbeResult r = run(params("udp"), "origin.example.test", Family.FAMILY_IPV6, 2000);

        assertThat(r.status()).isEqualTo(ProbeStatus.ERROR);
        assertThat(r.failure()).isEqualTo(FailureCode.INTERNAL);
        assertThat(r.detail()).contains("127.0.0.1").contains("IPv4").contains("ipv6");
        assertThat(dns.queries()).isEmpty();
    }

    @Test
    void queriesAnIpv6ResolverOverIpv6() throws Exception {
        TestDnsServer v6;
        try {
            v6 = TestDnsServer.start(InetAddress.getByName("::1"));
        } catch (IllegalStateException e) {
            dev.probemesh.testing.RootLab.requireThat(false, "no ::1 on this host: " + e.getMessage());
            return;
        }
        try (v6) {
            v6.aaaa("origin.example.test", "2001:db8:113::10");
            DnsParams.Builder p = DnsParams.newBuilder().setResolver(v6.hostPort()).setQtype("AAAA").setRecursionDesired(true);

            ProbeResult r = run(p, "origin.example.test", Family.FAMILY_IPV6, 2000);

            assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
            assertThat(r.family()).isEqualTo(Family.FAMILY_IPV6);
            assertThat(r.attributes()).containsEntry("resolver", "[::1]:" + v6.port());
            assertThat(r.attributes()).containsEntry("answers", "2001:db8:113::10");
        }
    }

    @Test
    void refusesAResolverThePolicyDenies() throws Exception {
        Check check = Check.newBuilder().setId("t").setKind("dns").setTarget("origin.example.test")
                .setDns(params("udp")).build();
        DestinationPolicy denyLoopback = a -> a.isLoopbackAddress() ? Optional.of("deny 127.0.0.0/8") : Optional.empty();

        ProbeResult r = probe(denyLoopback).run(check, System.nanoTime() + TimeUnit.SECONDS.toNanos(2))
                .toCompletableFuture().get(5, TimeUnit.SECONDS);

        assertThat(r.failure()).isEqualTo(FailureCode.POLICY_DENIED);
        assertThat(r.detail()).contains("deny 127.0.0.0/8");
        assertThat(dns.queries()).isEmpty();
    }

    /**
     * The agent's real policy denies loopback, yet the system resolver from resolv.conf (here the
     * test server at 127.0.0.1, as 127.0.0.53 is on a systemd host) must stay askable; a resolver
     * the check names itself on loopback stays denied.
     */
    @ParameterizedTest(name = "resolver \"{0}\" -> {1}")
    @CsvSource({
        "'', OK",
        "127.0.0.2, POLICY_DENIED",
    })
    void asksTheSystemResolverOnLoopbackButNoOtherLoopbackResolver(String resolver, String expected) throws Exception {
        AgentPolicy policy = AgentPolicy.parse("", Set.of(dns.address().getAddress()));
        DnsParams.Builder params = DnsParams.newBuilder().setRecursionDesired(true);
        if (!resolver.isEmpty()) {
            params.setResolver(resolver + ":" + dns.port());
        }
        Check check = Check.newBuilder().setId("t").setKind("dns").setTarget("origin.example.test")
                .setFamily(Family.FAMILY_IPV4).setDns(params).build();

        ProbeResult r = probe(policy).run(check, System.nanoTime() + TimeUnit.SECONDS.toNanos(2))
                .toCompletableFuture().get(5, TimeUnit.SECONDS);

        if (expected.equals("OK")) {
            assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
            assertThat(r.attributes()).containsEntry("resolver", dns.hostPort()).containsEntry("answers", "203.0.113.10");
        } else {
            assertThat(r.failure()).as(r.detail()).isEqualTo(FailureCode.valueOf(expected));
            assertThat(r.detail()).contains("127.0.0.2").contains("127.0.0.0/8");
            assertThat(dns.queries()).isEmpty();
        }
    }

    @Test
    void usesTheSystemResolverWhenNoneIsNamed() throws Exception {
        ProbeResult r = run(DnsParams.newBuilder().setRecursionDesired(true), "origin.example.test", Family.FAMILY_ANY, 2000);

        assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
        assertThat(r.attributes()).containsEntry("resolver", dns.hostPort());
    }

    @Test
    void sendsRecursionDesiredOnlyWhenAsked() throws Exception {
        run(params("udp").setRecursionDesired(false), "origin.example.test", Family.FAMILY_ANY, 2000);
        run(params("udp").setRecursionDesired(true), "origin.example.test", Family.FAMILY_ANY, 2000);

        assertThat(dns.queries()).extracting(TestDnsServer.Query::recursionDesired).containsExactly(false, true);
    }

    @Test
    void keepsUnrelatedQueriesApartUnderLoad() throws Exception {
        for (int i = 0; i < 50; i++) {
            dns.a("n" + i + ".example.test", "203.0.113." + (i + 1));
        }
        DnsProbe probe = probe(DestinationPolicy.allowAll());
        List<java.util.concurrent.CompletableFuture<ProbeResult>> runs = new java.util.ArrayList<>();
        for (int round = 0; round < 10; round++) {
            for (int i = 0; i < 50; i++) {
                Check c = Check.newBuilder().setId("t").setKind("dns").setTarget("n" + i + ".example.test")
                        .setDns(params("udp")).build();
                runs.add(probe.run(c, System.nanoTime() + TimeUnit.SECONDS.toNanos(5)).toCompletableFuture());
            }
        }
        for (int k = 0; k < runs.size(); k++) {
            ProbeResult r = runs.get(k).get(10, TimeUnit.SECONDS);
            assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
            assertThat(r.attributes()).containsEntry("answers", "203.0.113." + (k % 50 + 1));
        }
    }
}
