package dev.probemesh.agent.probe.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What counts as an IPv4/IPv6 capability. Detection inside namespaces (a global IPv6 address
 * present, then its route removed, then the address removed) is asserted in TcpProbeNamespaceTest.
 */
class HostCapabilitiesTest {

    @ParameterizedTest(name = "{0} global v6: {1}")
    @CsvSource({"2001:db8::1, true", "fd12:3456::1, true", "fe80::1, false", "::1, false", "::, false", "ff02::1, false"})
    void onlyAGlobalIpv6AddressMakesIpv6Capable(String literal, boolean global) {
        assertThat(HostCapabilities.isGlobalV6(TestResolvers.literal(literal))).isEqualTo(global);
    }

    @ParameterizedTest(name = "{0} usable v4: {1}")
    @CsvSource({"192.0.2.1, true", "10.0.0.1, true", "127.0.0.1, false", "169.254.1.1, false", "0.0.0.0, false"})
    void loopbackAndLinkLocalIpv4AreNoCapability(String literal, boolean usable) {
        assertThat(HostCapabilities.isUsableV4(TestResolvers.literal(literal))).isEqualTo(usable);
    }

    @Test
    void noPingBinaryMeansNoIcmpMechanism() {
        HostCapabilities c = HostCapabilities.detect(List.of(Path.of("/nonexistent/ping")));
        assertThat(c.icmp()).isFalse();
        assertThat(c.icmpMechanism()).isEmpty();
        assertThat(c.pingBinary()).isEmpty();
    }

    @Test
    void detectingTwiceGivesEqualCapabilitiesSoOnlyChangesAreResent() {
        assertThat(HostCapabilities.detect()).isEqualTo(HostCapabilities.detect());
    }
}
