package dev.probemesh.agent.probe.icmp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.common.failure.FailureCode;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** iputils ping output, as captured from real runs in namespaces (see IcmpProbeNamespaceTest), parsed. */
class PingOutputTest {

    static Stream<Arguments> failures() {
        return Stream.of(
                Arguments.of("dropped", """
                        PING 198.51.100.11 (198.51.100.11) 56(84) bytes of data.

                        --- 198.51.100.11 ping statistics ---
                        4 packets transmitted, 0 received, 100% packet loss, time 618ms
                        """, FailureCode.TIMEOUT, ""),
                Arguments.of("admin-prohibited v4", """
                        PING 198.51.100.12 (198.51.100.12) 56(84) bytes of data.
                        From 192.0.2.254 icmp_seq=1 Packet filtered
                        From 192.0.2.254 icmp_seq=2 Packet filtered

                        --- 198.51.100.12 ping statistics ---
                        2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 614ms
                        """, FailureCode.ADMIN_PROHIBITED, "192.0.2.254"),
                Arguments.of("host unreachable v4", """
                        PING 198.51.100.13 (198.51.100.13) 56(84) bytes of data.
                        From 192.0.2.254 icmp_seq=1 Destination Host Unreachable

                        --- 198.51.100.13 ping statistics ---
                        1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms
                        """, FailureCode.HOST_UNREACHABLE, "192.0.2.254"),
                Arguments.of("net unreachable v4", """
                        From 192.0.2.254 icmp_seq=1 Destination Net Unreachable

                        1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms
                        """, FailureCode.NET_UNREACHABLE, "192.0.2.254"),
                Arguments.of("host prohibited v4", """
                        From 192.0.2.254 icmp_seq=1 Destination Host Prohibited

                        1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms
                        """, FailureCode.ADMIN_PROHIBITED, "192.0.2.254"),
                Arguments.of("admin-prohibited v6", """
                        PING 2001:db8:2::12(2001:db8:2::12) 56 data bytes
                        From 2001:db8:1::ff icmp_seq=1 Destination unreachable: Administratively prohibited

                        --- 2001:db8:2::12 ping statistics ---
                        1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 610ms
                        """, FailureCode.ADMIN_PROHIBITED, "2001:db8:1::ff"),
                Arguments.of("no route from a router v6", """
                        From 2001:db8:1::ff icmp_seq=1 Destination unreachable: No route

                        1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 615ms
                        """, FailureCode.NET_UNREACHABLE, "2001:db8:1::ff"),
                Arguments.of("address unreachable v6", """
                        From 2001:db8:1::ff icmp_seq=1 Destination unreachable: Address unreachable

                        1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 615ms
                        """, FailureCode.HOST_UNREACHABLE, "2001:db8:1::ff"),
                Arguments.of("own OUTPUT -j REJECT", """
                        PING 198.51.100.16 (198.51.100.16) 56(84) bytes of data.
                        From 192.0.2.1 icmp_seq=1 Destination Port Unreachable
                        ping: sendmsg: Operation not permitted

                        --- 198.51.100.16 ping statistics ---
                        1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 613ms
                        """, FailureCode.LOCAL_FIREWALL, ""),
                Arguments.of("no route in this host's table", "ping: connect: Network is unreachable\n",
                        FailureCode.NO_ROUTE, ""),
                Arguments.of("no IPv6 on this host", "ping: connect: Address family not supported by protocol\n",
                        FailureCode.ADDRESS_FAMILY_UNAVAILABLE, ""),
                Arguments.of("unexpected", "ping: something new went wrong\n", FailureCode.INTERNAL, ""));
    }

    @ParameterizedTest(name = "{0} -> {2}")
    @MethodSource("failures")
    void explainsWhyNoReplyCameBack(String name, String output, FailureCode expected, String from) {
        PingOutput p = PingOutput.parse(output);
        assertThat(p.received()).isZero();
        assertThat(p.failure()).isEqualTo(expected);
        assertThat(p.from()).isEqualTo(from);
        if (!from.isEmpty()) {
            assertThat(p.attributes()).containsEntry("rejected_by", from);
            assertThat(p.failureDetail()).startsWith("rejected by " + from);
        }
    }

    @Test
    void readsCountsLossAndRoundTrips() {
        PingOutput p = PingOutput.parse("""
                PING 198.51.100.14 (198.51.100.14) 56(84) bytes of data.
                64 bytes from 198.51.100.14: icmp_seq=2 ttl=63 time=0.087 ms
                64 bytes from 198.51.100.14: icmp_seq=4 ttl=63 time=0.044 ms

                --- 198.51.100.14 ping statistics ---
                4 packets transmitted, 2 received, 50% packet loss, time 623ms
                rtt min/avg/max/mdev = 0.044/0.065/0.087/0.021 ms
                """);
        assertThat(p.transmitted()).isEqualTo(4);
        assertThat(p.received()).isEqualTo(2);
        assertThat(p.partialLoss()).isTrue();
        assertThat(p.failure()).isNull();
        assertThat(p.attributes()).containsEntry("sent", "4").containsEntry("received", "2")
                .containsEntry("loss_pct", "50").containsEntry("rtt_avg_ms", "0.065");
    }

    @Test
    void fullReplyIsNoLoss() {
        PingOutput p = PingOutput.parse("""
                3 packets transmitted, 3 received, 0% packet loss, time 2037ms
                rtt min/avg/max/mdev = 0.030/0.041/0.050/0.008 ms
                """);
        assertThat(p.partialLoss()).isFalse();
        assertThat(p.lossPct()).isZero();
    }
}
