package dev.probemesh.agent.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.probemesh.common.check.CheckKind;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.DnsParams;
import dev.probemesh.proto.v1.HttpParams;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class AgentPolicyTest {
    private static final InetAddress STUB = addr("127.0.0.53");
    private final AgentPolicy defaults = new AgentPolicy(EnumSet.allOf(CheckKind.class), AgentPolicy.DEFAULT_DENY,
            List.of(), Set.of(STUB), AgentPolicy.DEFAULT_PER_TARGET, AgentPolicy.DEFAULT_GLOBAL);

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "169.254.169.254          | 169.254.0.0/16 (link-local, cloud metadata)",
            "::ffff:169.254.169.254   | 169.254.0.0/16 (link-local, cloud metadata)",
            "::ffff:a9fe:a9fe         | 169.254.0.0/16 (link-local, cloud metadata)",
            "[::ffff:a9fe:a9fe]       | 169.254.0.0/16 (link-local, cloud metadata)",
            "2852039166               | 169.254.0.0/16 (link-local, cloud metadata)",
            "0xA9FEA9FE               | 169.254.0.0/16 (link-local, cloud metadata)",
            "0xa9.0xfe.0xa9.0xfe      | 169.254.0.0/16 (link-local, cloud metadata)",
            "0251.0376.0251.0376      | 169.254.0.0/16 (link-local, cloud metadata)",
            "169.254.43518            | 169.254.0.0/16 (link-local, cloud metadata)",
            "169.16689662             | 169.254.0.0/16 (link-local, cloud metadata)",
            "2852039166.              | 169.254.0.0/16 (link-local, cloud metadata)",
            "64:ff9b::a9fe:a9fe       | 169.254.0.0/16 (link-local, cloud metadata)",
            "2002:a9fe:a9fe::1        | 169.254.0.0/16 (link-local, cloud metadata)",
            "::169.254.169.254        | 169.254.0.0/16 (link-local, cloud metadata)",
            "fd00:ec2::254            | fd00:ec2::254/128 (cloud metadata over IPv6)",
            "127.0.0.1                | 127.0.0.0/8 (loopback)",
            "0x7f.1                   | 127.0.0.0/8 (loopback)",
            "2130706433               | 127.0.0.0/8 (loopback)",
            "::ffff:127.0.0.1         | 127.0.0.0/8 (loopback)",
            "::1                      | ::1/128 (IPv6 loopback)",
            "fe80::1                  | fe80::/10 (IPv6 link-local)",
            "[fe80::1%eth0]           | fe80::/10 (IPv6 link-local)",
            "0.0.0.0                  | 0.0.0.0/8 (this network)",
            "0                        | 0.0.0.0/8 (this network)",
            "::                       | ::/128 (unspecified address)"})
    void refusesEveryBypassForm(String target, String rule) {
        assertThat(defaults.deniedTarget(target)).hasValueSatisfying(r -> assertThat(r).contains("denied by rule " + rule));
    }

    @Test
    void refusesAnIpv4MappedAddressKeptInIpv6Form() throws UnknownHostException {
        // InetAddress.getByName turns ::ffff:a.b.c.d into an Inet4Address; a raw Inet6Address can still carry it.
        byte[] b = new byte[16];
        b[10] = (byte) 0xff;
        b[11] = (byte) 0xff;
        b[12] = (byte) 169;
        b[13] = (byte) 254;
        b[14] = (byte) 169;
        b[15] = (byte) 254;
        InetAddress mapped = Inet6Address.getByAddress(null, b, -1);
        assertThat(mapped).isInstanceOf(Inet6Address.class);
        assertThat(defaults.denied(mapped)).hasValueSatisfying(r -> assertThat(r)
                .isEqualTo("denied by rule 169.254.0.0/16 (link-local, cloud metadata) (embedded IPv4 169.254.169.254)"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"203.0.113.10", "2001:db8::10", "198.51.100.53", "example.test", "1e100.example",
            "0x1.example", "169.254.169.254.nip.io"})
    void allowsOrdinaryTargetsAndLeavesNamesToTheResolvedCheck(String target) {
        assertThat(defaults.deniedTarget(target)).isEmpty();
    }

    @Test
    void allowListReopensRanges() throws PolicyException {
        AgentPolicy p = AgentPolicy.parse("""
                allow:
                  - 127.0.0.0/8
                  - cidr: 169.254.10.0/24
                    reason: lab link
                """, Set.of());
        assertThat(p.denied(addr("127.0.0.1"))).isEmpty();
        assertThat(p.denied(addr("169.254.10.7"))).isEmpty();
        assertThat(p.denied(addr("169.254.169.254"))).isPresent();
        assertThat(p.denied(addr("::1"))).isPresent();
    }

    @Test
    void extraDenyRulesAddToTheDefaults() throws PolicyException {
        AgentPolicy p = AgentPolicy.parse("""
                deny:
                  - cidr: 10.0.0.0/8
                    reason: office network
                """, Set.of());
        assertThat(p.denied(addr("10.1.2.3"))).hasValue("denied by rule 10.0.0.0/8 (office network)");
        assertThat(p.denied(addr("169.254.169.254"))).isPresent();
    }

    @Test
    void systemResolverIsAllowedForDnsButLoopbackStaysDenied() {
        assertThat(defaults.deniedResolver(STUB)).isEmpty();
        assertThat(defaults.denied(STUB)).hasValueSatisfying(r -> assertThat(r).contains("127.0.0.0/8"));
        assertThat(defaults.deniedResolver(addr("127.0.0.1"))).isPresent();
    }

    @Test
    void readsSystemResolversFromResolvConf(@TempDir Path dir) throws Exception {
        Path conf = dir.resolve("resolv.conf");
        Files.writeString(conf, "# systemd-resolved stub\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n"
                + "nameserver fe80::1%eth0\n");
        assertThat(AgentPolicy.resolvConf(conf)).containsExactly(addr("127.0.0.53"), addr("fe80::1"));
    }

    @Test
    void gateRefusesKindsThePolicyDoesNotAllow() throws PolicyException {
        AgentPolicy p = AgentPolicy.parse("kinds: [icmp, tcp]\n", Set.of());
        Check http = Check.newBuilder().setKind("https").setTarget("https://origin.example.test/").build();
        assertThat(p.refuse(http, p.newRateLimiter(), 0)).hasValue("agent policy does not allow https probes (allowed: icmp, tcp)");
        assertThat(p.allowedKindNames()).containsExactly("icmp", "tcp");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "http  | http://2852039166/latest/meta-data/ | ",
            "https | https://[::ffff:a9fe:a9fe]/         | ",
            "https | https://origin.example.test/        | 0251.0376.0251.0376",
            "tcp   | 0xA9FEA9FE:80                       | ",
            "icmp  | 169.254.169.254                     | "})
    void gateRefusesLiteralTargetsInEveryKind(String kind, String target, String connectTo) {
        Check.Builder c = Check.newBuilder().setKind(kind).setTarget(target);
        if (connectTo != null) {
            c.setHttp(HttpParams.newBuilder().setConnectTo(connectTo));
        }
        assertThat(defaults.refuse(c.build(), defaults.newRateLimiter(), 0))
                .hasValueSatisfying(r -> assertThat(r).contains("169.254.0.0/16"));
    }

    @Test
    void gateAllowsTheSystemResolverAsADnsServer() {
        Check dns = Check.newBuilder().setKind("dns").setTarget("origin.example.test")
                .setDns(DnsParams.newBuilder().setResolver("127.0.0.53")).build();
        assertThat(defaults.refuse(dns, defaults.newRateLimiter(), 0)).isEmpty();
        Check other = dns.toBuilder().setDns(DnsParams.newBuilder().setResolver("127.0.0.1:53")).build();
        assertThat(defaults.refuse(other, defaults.newRateLimiter(), 0)).isPresent();
    }

    @Test
    void gateAppliesThePerTargetCeiling() {
        RateLimiter limiter = defaults.newRateLimiter();
        Check tcp = Check.newBuilder().setKind("tcp").setTarget("203.0.113.10:443").build();
        for (int i = 0; i < 5; i++) {
            assertThat(defaults.refuse(tcp, limiter, 0)).isEmpty();
        }
        assertThat(defaults.refuse(tcp, limiter, 0)).hasValueSatisfying(r -> assertThat(r).contains("203.0.113.10"));
        // Another port of the same host shares the host's budget.
        assertThat(defaults.refuse(tcp.toBuilder().setTarget("203.0.113.10:80").build(), limiter, 0)).isPresent();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "colour: blue                                  | unknown policy field \"colour\"",
            "kinds: [icmp, ping]                           | kinds: \"ping\" is not a probe kind",
            "deny: [10.0.0.0/33]                           | deny[0]: \"10.0.0.0/33\": prefix must be 0-32",
            "allow: [localhost]                            | allow[0]: \"localhost\" is not an address range",
            "deny: [{reason: x}]                           | deny[0]: needs cidr:",
            "rate: {per_target: {per_second: 0}}           | rate.per_target: per_second must be a number > 0",
            "rate: {burst: 3}                              | rate: unknown field \"burst\"",
            "system_resolvers: [dns.example]               | system_resolvers: \"dns.example\" is not an IP address",
            "default_deny: maybe                           | default_deny: must be true or false",
            "- just a list                                 | policy file must be a YAML mapping"})
    void rejectsBadPolicyFilesNamingTheField(String yaml, String message) {
        assertThatThrownBy(() -> AgentPolicy.parse(yaml, Set.of())).isInstanceOf(PolicyException.class)
                .hasMessageContaining(message);
    }

    @Test
    void theExampleFileLoadsAndMeansWhatItSays() throws PolicyException {
        Path example = Path.of("../deploy/agent-policy.example.yaml");
        AgentPolicy p = AgentPolicy.load(example);
        assertThat(p.denied(addr("169.254.169.254"))).isPresent();
        assertThat(p.denied(addr("198.51.100.53"))).isEmpty();
        assertThat(p.denied(addr("10.1.2.3"))).isPresent();
        assertThat(p.perTarget()).isEqualTo(new RateLimiter.Rate(1, 5));
        assertThat(p.global()).isEqualTo(new RateLimiter.Rate(200, 200));
    }

    static InetAddress addr(String literal) {
        return AddressLiterals.parse(literal).orElseThrow();
    }
}
