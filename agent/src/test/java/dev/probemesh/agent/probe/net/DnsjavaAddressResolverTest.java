package dev.probemesh.agent.probe.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.probemesh.agent.testing.TestDnsServer;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.proto.v1.Family;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.concurrent.ExecutionException;
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
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Type;

@Timeout(20)
class DnsjavaAddressResolverTest {
    private static ScheduledExecutorService scheduler;
    private static ExecutorService callbacks;
    private static DnsTransport transport;
    private TestDnsServer dns;
    @TempDir
    Path dir;

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
        dns.a("origin.example.test", "203.0.113.10", "203.0.113.11")
                .aaaa("origin.example.test", "2001:db8:113::10")
                .cname("home.example.test", "origin.example.test")
                .cname("dangling.example.test", "elsewhere.ddns.test")
                .a("v4only.example.test", "203.0.113.12")
                .rcode("nx.example.test", Rcode.NXDOMAIN)
                .rcode("broken.example.test", Rcode.SERVFAIL)
                .rcode("refused.example.test", Rcode.REFUSED);
    }

    @AfterEach
    void stopServer() {
        dns.close();
    }

    private DnsjavaAddressResolver resolver(boolean globalIpv6, Path gai, InetSocketAddress... servers) {
        List<InetSocketAddress> list = servers.length == 0 ? List.of(dns.address()) : List.of(servers);
        return new DnsjavaAddressResolver(transport, () -> list, () -> globalIpv6, gai);
    }

    private DnsjavaAddressResolver resolver() {
        return resolver(false, dir.resolve("gai.conf"));
    }

    private static List<String> resolve(DnsjavaAddressResolver r, String host, Family f, long timeoutMs) throws Exception {
        return r.resolve(host, f, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs))
                .toCompletableFuture().get(10, TimeUnit.SECONDS)
                .stream().map(InetAddress::getHostAddress).toList();
    }

    private static ResolveException failure(DnsjavaAddressResolver r, String host, Family f, long timeoutMs) {
        Throwable t = catchThrowable(() -> resolve(r, host, f, timeoutMs));
        assertThat(t).isInstanceOf(ExecutionException.class).hasCauseInstanceOf(ResolveException.class);
        return (ResolveException) t.getCause();
    }

    @Test
    void asksOnlyForARecordsWhenPinnedToIpv4() throws Exception {
        assertThat(resolve(resolver(), "origin.example.test", Family.FAMILY_IPV4, 2000))
                .containsExactly("203.0.113.10", "203.0.113.11");
        assertThat(dns.queries()).extracting(TestDnsServer.Query::type).containsExactly(Type.A);
    }

    @Test
    void asksOnlyForAaaaRecordsWhenPinnedToIpv6() throws Exception {
        assertThat(resolve(resolver(), "origin.example.test", Family.FAMILY_IPV6, 2000))
                .containsExactly("2001:db8:113:0:0:0:0:10");
        assertThat(dns.queries()).extracting(TestDnsServer.Query::type).containsExactly(Type.AAAA);
    }

    @Test
    void putsIpv4FirstWhenTheHostHasNoGlobalIpv6() throws Exception {
        assertThat(resolve(resolver(false, dir.resolve("gai.conf")), "origin.example.test", Family.FAMILY_ANY, 2000))
                .containsExactly("203.0.113.10", "203.0.113.11", "2001:db8:113:0:0:0:0:10");
    }

    @Test
    void putsIpv6FirstWhenTheHostHasGlobalIpv6() throws Exception {
        assertThat(resolve(resolver(true, dir.resolve("gai.conf")), "origin.example.test", Family.FAMILY_ANY, 2000))
                .containsExactly("2001:db8:113:0:0:0:0:10", "203.0.113.10", "203.0.113.11");
    }

    @ParameterizedTest(name = "gai.conf \"{0}\" -> ipv6 first: {1}")
    @CsvSource(delimiter = '|', value = {
        "precedence ::ffff:0:0/96  100 | false",
        "#precedence ::ffff:0:0/96  100 | true",
        "precedence ::ffff:0:0/96  10 | true",
        "label ::1/128 0 | true",
        "precedence ::ffff:0:0/96 100; precedence ::/0 200 | true",
    })
    void honoursGaiConfPrecedenceForIpv4(String line, boolean v6First) throws Exception {
        Path gai = dir.resolve("gai.conf");
        Files.writeString(gai, "# test\n" + line.replace("; ", "\n") + "\n");

        List<String> got = resolve(resolver(true, gai), "origin.example.test", Family.FAMILY_ANY, 2000);

        assertThat(got.get(0).contains(":")).isEqualTo(v6First);
    }

    @Test
    void returnsAddressesOfTheOneFamilyThatHasThem() throws Exception {
        assertThat(resolve(resolver(true, dir.resolve("gai.conf")), "v4only.example.test", Family.FAMILY_ANY, 2000))
                .containsExactly("203.0.113.12");
    }

    @Test
    void followsCnamesInTheAnswer() throws Exception {
        assertThat(resolve(resolver(), "home.example.test", Family.FAMILY_IPV4, 2000))
                .containsExactly("203.0.113.10", "203.0.113.11");
    }

    @Test
    void asksAgainForTheTargetOfACnameTheServerDidNotFollow() {
        ResolveException e = failure(resolver(), "dangling.example.test", Family.FAMILY_IPV4, 2000);

        assertThat(e.code()).isEqualTo(FailureCode.DNS_NXDOMAIN);
        assertThat(e.getMessage()).contains("elsewhere.ddns.test");
        assertThat(dns.count("elsewhere.ddns.test")).isEqualTo(1);
    }

    @Test
    void resolvesIpLiteralsWithoutAQuery() throws Exception {
        assertThat(resolve(resolver(), "203.0.113.10", Family.FAMILY_ANY, 2000)).containsExactly("203.0.113.10");
        assertThat(resolve(resolver(), "[2001:db8::1]", Family.FAMILY_IPV6, 2000)).containsExactly("2001:db8:0:0:0:0:0:1");
        assertThat(failure(resolver(), "203.0.113.10", Family.FAMILY_IPV6, 2000).code()).isEqualTo(FailureCode.DNS_NODATA);
        assertThat(dns.queries()).isEmpty();
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "nx.example.test, DNS_NXDOMAIN",
        "broken.example.test, DNS_SERVFAIL",
        "refused.example.test, DNS_REFUSED",
        "v4only.example.test, DNS_NODATA",
    })
    void failsWithTheDnsCodeNamingTheResolver(String name, FailureCode code) {
        ResolveException e = failure(resolver(), name, Family.FAMILY_IPV6, 2000);

        assertThat(e.code()).isEqualTo(code);
        assertThat(e.getMessage()).contains(name).contains(dns.hostPort());
    }

    @Test
    void timesOutWhenTheResolverIsSilent() {
        dns.silent("origin.example.test");

        ResolveException e = failure(resolver(), "origin.example.test", Family.FAMILY_IPV4, 500);

        assertThat(e.code()).isEqualTo(FailureCode.DNS_TIMEOUT);
        assertThat(e.getMessage()).contains(dns.hostPort());
    }

    @Test
    void movesToTheNextServerWhenOneIsSilentOrFailing() throws Exception {
        try (TestDnsServer second = TestDnsServer.start()) {
            second.a("origin.example.test", "203.0.113.99").a("broken.example.test", "203.0.113.98");
            dns.silent("origin.example.test");
            DnsjavaAddressResolver r = resolver(false, dir.resolve("gai.conf"), dns.address(), second.address());

            assertThat(resolve(r, "origin.example.test", Family.FAMILY_IPV4, 2000)).containsExactly("203.0.113.99");
            assertThat(resolve(r, "broken.example.test", Family.FAMILY_IPV4, 2000)).containsExactly("203.0.113.98");
        }
    }

    @Test
    void retriesOverTcpWhenTruncated() throws Exception {
        dns.truncate("origin.example.test");

        assertThat(resolve(resolver(), "origin.example.test", Family.FAMILY_IPV4, 2000))
                .containsExactly("203.0.113.10", "203.0.113.11");
        assertThat(dns.count("origin.example.test", "tcp")).isEqualTo(1);
    }

    @Test
    void queriesOnEveryRunWithoutCaching() throws Exception {
        DnsjavaAddressResolver r = resolver();
        resolve(r, "origin.example.test", Family.FAMILY_IPV4, 2000);
        resolve(r, "origin.example.test", Family.FAMILY_IPV4, 2000);

        assertThat(dns.count("origin.example.test")).isEqualTo(2);
    }

    @Test
    void rereadsResolvConfWhenItChanges() throws Exception {
        Path conf = dir.resolve("resolv.conf");
        Files.writeString(conf, "# generated\nnameserver 198.51.100.53\nnameserver 2001:db8:53::53\noptions edns0\n");
        DnsResolvConf rc = new DnsResolvConf(conf);

        assertThat(rc.servers()).extracting(a -> a.getAddress().getHostAddress() + ":" + a.getPort())
                .containsExactly("198.51.100.53:53", "2001:db8:53:0:0:0:0:53:53");

        Files.writeString(conf, "nameserver 127.0.0.53\n");
        Files.setLastModifiedTime(conf, FileTime.fromMillis(System.currentTimeMillis() + 5000));

        assertThat(rc.servers()).extracting(a -> a.getAddress().getHostAddress()).containsExactly("127.0.0.53");
    }

    @Test
    void fallsBackToLocalhostWithoutNameservers() throws Exception {
        Path conf = dir.resolve("resolv.conf");
        Files.writeString(conf, "search example.test\n");

        assertThat(new DnsResolvConf(conf).servers()).extracting(a -> a.getAddress().getHostAddress())
                .containsExactly("127.0.0.1");
    }
}
