package dev.probemesh.agent.probe.trace;

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
import dev.probemesh.proto.v1.DnsTraceParams;
import dev.probemesh.proto.v1.Family;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
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
import org.junit.jupiter.params.provider.ValueSource;
import org.xbill.DNS.Rcode;

/**
 * A lab-shaped hierarchy on loopback, every server on the same port (glue carries addresses
 * only): root 127.0.0.1 delegates test. to 127.0.0.4, which delegates example.test. to 127.0.0.2
 * and ddns.test. to 127.0.0.3 and 127.0.0.5; home.example.test is a CNAME to myhome.ddns.test.
 */
@Timeout(30)
class DnsTraceProbeTest {
    private static ScheduledExecutorService scheduler;
    private static ExecutorService callbacks;
    private static DnsTransport transport;
    private TestDnsServer root;
    private TestDnsServer example;
    private TestDnsServer ddns;
    private TestDnsServer tld;
    private TestDnsServer ddns2;
    private TestDnsServer recursive;
    private List<TestDnsServer> all;

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
    void startHierarchy() throws Exception {
        all = TestDnsServer.startSamePort(ip("127.0.0.1"), ip("127.0.0.2"), ip("127.0.0.3"), ip("127.0.0.4"),
                ip("127.0.0.5"), ip("127.0.0.6"));
        root = all.get(0);
        example = all.get(1);
        ddns = all.get(2);
        tld = all.get(3);
        ddns2 = all.get(4);
        recursive = all.get(5);
        root.ns(".", "a.root.test").delegate("test", "ns.test", "127.0.0.4");
        tld.delegate("example.test", "ns1.example.test", "127.0.0.2")
                .delegate("ddns.test", "ns1.ddns.test", "127.0.0.3")
                .delegate("ddns.test", "ns2.ddns.test", "127.0.0.5");
        example.a("origin.example.test", "203.0.113.10").aaaa("origin.example.test", "2001:db8:113::10")
                .cname("home.example.test", "myhome.ddns.test")
                .cname("nas.example.test", "mynas.ddns.test")
                .a("ns.example.test", "127.0.0.3");
        for (TestDnsServer d : List.of(ddns, ddns2)) {
            d.a("myhome.ddns.test", "203.0.113.10");
        }
    }

    @AfterEach
    void stopHierarchy() {
        all.forEach(TestDnsServer::close);
    }

    private DnsTraceProbe probe(DestinationPolicy policy) {
        List<InetSocketAddress> sys = List.of(recursive.address());
        ProbeEnv env = new ProbeEnv(scheduler,
                new DnsjavaAddressResolver(transport, () -> sys, () -> false, Path.of("/nonexistent/gai.conf")),
                policy, List.of());
        return new DnsTraceProbe(env, transport, () -> sys, root.port());
    }

    private ProbeResult trace(String name, Family family, List<String> roots, long timeoutMs) throws Exception {
        Check check = Check.newBuilder().setId("trace").setKind("dns-trace").setTarget(name).setFamily(family)
                .setTimeoutMs((int) timeoutMs).setDnsTrace(DnsTraceParams.newBuilder().addAllRootServers(roots)).build();
        return probe(DestinationPolicy.allowAll())
                .run(check, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs))
                .toCompletableFuture().get(20, TimeUnit.SECONDS);
    }

    private ProbeResult trace(String name) throws Exception {
        return trace(name, Family.FAMILY_IPV4, List.of("127.0.0.1"), 3000);
    }

    @Test
    void followsDelegationsAndACnameIntoAnotherZone() throws Exception {
        ProbeResult r = trace("home.example.test");

        assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
        assertThat(r.attributes())
                .containsEntry("chain", "home.example.test,myhome.ddns.test")
                .containsEntry("zones", "test,example.test,ddns.test")
                .containsEntry("answers", "203.0.113.10");
        assertThat(r.attributes().get("path")).contains("example.test@127.0.0.2").contains("ddns.test@127.0.0.3");
        assertThat(r.address()).startsWith("127.0.0.3");
        // authorities are asked directly, never their recursion
        for (TestDnsServer s : all) {
            assertThat(s.queries()).allSatisfy(q -> assertThat(q.recursionDesired()).isFalse());
        }
        assertThat(ddns.count("myhome.ddns.test")).isEqualTo(1);
    }

    @Test
    void resolvesAPlainNameInOneZone() throws Exception {
        ProbeResult r = trace("origin.example.test", Family.FAMILY_IPV4, List.of("127.0.0.1"), 3000);

        assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
        assertThat(r.attributes()).containsEntry("chain", "origin.example.test")
                .containsEntry("zones", "test,example.test").containsEntry("answers", "203.0.113.10");
    }

    @Test
    void namesTheZoneWhoseAuthoritiesAreSilent() throws Exception {
        ddns.silentAll(true);
        ddns2.silentAll(true);

        ProbeResult r = trace("home.example.test");

        assertThat(r.status()).isEqualTo(ProbeStatus.FAIL);
        assertThat(r.failure()).as(r.detail()).isEqualTo(FailureCode.DNS_AUTHORITY_UNREACHABLE);
        assertThat(r.attributes()).containsEntry("zone", "ddns.test")
                .containsEntry("chain", "home.example.test,myhome.ddns.test");
        assertThat(r.detail()).contains("ddns.test: no answer from " + example.hostPort().replace("127.0.0.2", "127.0.0.3")
                + ", " + example.hostPort().replace("127.0.0.2", "127.0.0.5") + " (timeout)");
        assertThat(ddns.count("myhome.ddns.test")).isEqualTo(1);
        assertThat(ddns2.count("myhome.ddns.test")).isEqualTo(1);
    }

    @Test
    void triesTheZonesNextServerWhenOneIsSilent() throws Exception {
        ddns.silentAll(true);

        ProbeResult r = trace("home.example.test");

        assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
        assertThat(r.attributes().get("path")).contains("ddns.test@127.0.0.5");
    }

    @Test
    void treatsARefusingAuthorityAsLame() throws Exception {
        ddns.rcodeAll(Rcode.REFUSED);
        ddns2.rcodeAll(Rcode.SERVFAIL);

        ProbeResult r = trace("home.example.test");

        assertThat(r.failure()).as(r.detail()).isEqualTo(FailureCode.DNS_AUTHORITY_UNREACHABLE);
        assertThat(r.attributes()).containsEntry("zone", "ddns.test");
        assertThat(r.detail()).contains("(REFUSED)").contains("(SERVFAIL)");
    }

    @Test
    void reportsNxdomainWithTheZoneThatSaidIt() throws Exception {
        ProbeResult r = trace("nas.example.test");

        assertThat(r.failure()).as(r.detail()).isEqualTo(FailureCode.DNS_NXDOMAIN);
        assertThat(r.attributes()).containsEntry("zone", "ddns.test")
                .containsEntry("chain", "nas.example.test,mynas.ddns.test");
    }

    @Test
    void reportsNodataWithTheZone() throws Exception {
        Check aaaa = Check.newBuilder().setId("t").setKind("dns-trace").setTarget("myhome.ddns.test")
                .setFamily(Family.FAMILY_IPV4)
                .setDnsTrace(DnsTraceParams.newBuilder().addRootServers("127.0.0.1").setQtype("AAAA")).build();
        ProbeResult nodata = probe(DestinationPolicy.allowAll()).run(aaaa, System.nanoTime() + TimeUnit.SECONDS.toNanos(3))
                .toCompletableFuture().get(10, TimeUnit.SECONDS);

        assertThat(nodata.failure()).as(nodata.detail()).isEqualTo(FailureCode.DNS_NODATA);
        assertThat(nodata.attributes()).containsEntry("zone", "ddns.test");
    }

    @Test
    void resolvesGluelessDelegationsFromTheRoot() throws Exception {
        // nsless.test's server is named inside example.test, with no glue: its address must be traced
        tld.delegate("nsless.test", "ns.example.test");
        ddns.a("www.nsless.test", "203.0.113.20");

        ProbeResult r = trace("www.nsless.test");

        assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
        assertThat(r.attributes()).containsEntry("answers", "203.0.113.20").containsEntry("zones", "test,nsless.test");
        assertThat(example.count("ns.example.test")).isEqualTo(1);
    }

    @Test
    void asksTheSystemResolverForTheRootWhenNoneIsGiven() throws Exception {
        recursive.ns(".", "a.root.test").a("a.root.test", "127.0.0.1");

        ProbeResult r = trace("home.example.test", Family.FAMILY_IPV4, List.of(), 3000);

        assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
        assertThat(r.attributes()).containsEntry("answers", "203.0.113.10");
        assertThat(recursive.count(".")).isEqualTo(1);
    }

    /**
     * Under the agent's real policy (loopback denied) the system resolver is asked for the roots
     * when resolv.conf lists it, and refused when it does not; the root servers it names are
     * authorities, still under the plain loopback rule.
     */
    @ParameterizedTest(name = "system resolver listed in resolv.conf: {0}")
    @ValueSource(booleans = {true, false})
    void asksTheSystemResolverOnlyWhenThePolicyAllowsItAsResolver(boolean listed) throws Exception {
        recursive.ns(".", "a.root.test").a("a.root.test", "127.0.0.1");
        Set<InetAddress> systemResolvers = listed ? Set.of(recursive.address().getAddress()) : Set.of(ip("192.0.2.53"));
        AgentPolicy policy = AgentPolicy.parse("", systemResolvers);
        Check check = Check.newBuilder().setId("t").setKind("dns-trace").setTarget("home.example.test")
                .setFamily(Family.FAMILY_IPV4).setDnsTrace(DnsTraceParams.newBuilder()).build();

        ProbeResult r = probe(policy).run(check, System.nanoTime() + TimeUnit.SECONDS.toNanos(3))
                .toCompletableFuture().get(10, TimeUnit.SECONDS);

        assertThat(r.failure()).as(r.detail()).isEqualTo(FailureCode.POLICY_DENIED);
        assertThat(root.queries()).isEmpty();
        if (listed) {
            assertThat(recursive.count(".")).isEqualTo(1);
            assertThat(r.detail()).contains("127.0.0.1").contains("127.0.0.0/8");
        } else {
            assertThat(recursive.queries()).isEmpty();
            assertThat(r.status()).isEqualTo(ProbeStatus.ERROR);
            assertThat(r.detail()).contains("system resolver " + recursive.hostPort()).contains("127.0.0.0/8");
        }
    }

    @Test
    void rejectsRootServersOfTheOtherFamilyThanThePinnedOne() throws Exception {
        ProbeResult r = trace("home.example.test", Family.FAMILY_IPV6, List.of("127.0.0.1"), 3000);

        assertThat(r.status()).isEqualTo(ProbeStatus.ERROR);
        assertThat(r.detail()).contains("no IPv6 root server address");
        assertThat(root.queries()).isEmpty();
    }

    @Test
    void reportsDnsTimeoutWhenEvenTheRootIsSilent() throws Exception {
        root.silentAll(true);

        ProbeResult r = trace("home.example.test");

        assertThat(r.failure()).as(r.detail()).isEqualTo(FailureCode.DNS_TIMEOUT);
        assertThat(r.attributes()).doesNotContainKey("zone");
        assertThat(r.detail()).contains("root servers");
    }

    @Test
    void namesTheFirstZoneWhoseAuthorityIsSilent() throws Exception {
        example.silentAll(true);

        ProbeResult r = trace("home.example.test");

        assertThat(r.failure()).as(r.detail()).isEqualTo(FailureCode.DNS_AUTHORITY_UNREACHABLE);
        assertThat(r.attributes()).containsEntry("zone", "example.test").containsEntry("chain", "home.example.test")
                .containsEntry("zones", "test,example.test");
    }

    @Test
    void reportsWhenTheSystemResolverGivesNoRoots() throws Exception {
        recursive.silentAll(true);

        ProbeResult r = trace("home.example.test", Family.FAMILY_IPV4, List.of(), 1000);

        assertThat(r.failure()).as(r.detail()).isEqualTo(FailureCode.DNS_TIMEOUT);
        assertThat(r.detail()).contains("system resolver");
    }

    @Test
    void skipsServersThePolicyDenies() throws Exception {
        DestinationPolicy denyDdns = a -> a.getHostAddress().equals("127.0.0.3")
                ? Optional.of("deny 127.0.0.3/32") : Optional.empty();
        Check check = Check.newBuilder().setId("t").setKind("dns-trace").setTarget("home.example.test")
                .setFamily(Family.FAMILY_IPV4).setDnsTrace(DnsTraceParams.newBuilder().addRootServers("127.0.0.1")).build();

        ProbeResult r = probe(denyDdns).run(check, System.nanoTime() + TimeUnit.SECONDS.toNanos(3))
                .toCompletableFuture().get(10, TimeUnit.SECONDS);

        assertThat(r.status()).as(r.detail()).isEqualTo(ProbeStatus.OK);
        assertThat(ddns.queries()).isEmpty();
        assertThat(r.attributes().get("path")).contains("ddns.test@127.0.0.5");
    }

    private static InetAddress ip(String s) throws Exception {
        return InetAddress.getByAddress(InetAddress.getByName(s).getAddress());
    }
}
