package dev.probemesh.agent.probe.net;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.common.failure.FailureCode;
import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.NoRouteToHostException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SocketErrorsTest {

    private static final InetAddress DEST = literal("198.51.100.7");

    static Stream<Arguments> measuredJavaErrors() {
        return Stream.of(
                Arguments.of(new SocketTimeoutException("Connect timed out"), FailureCode.TIMEOUT),
                Arguments.of(new io.netty.channel.ConnectTimeoutException("connection timed out after 2000 ms: /198.51.100.7:443"), FailureCode.TIMEOUT),
                Arguments.of(new ConnectException("Connection timed out"), FailureCode.TIMEOUT),
                Arguments.of(new ConnectException("Connection refused"), FailureCode.REFUSED),
                Arguments.of(new NoRouteToHostException("No route to host"), FailureCode.HOST_UNREACHABLE),
                Arguments.of(new SocketException("Network is unreachable"), FailureCode.NET_UNREACHABLE),
                Arguments.of(new BindException("Permission denied"), FailureCode.ADMIN_PROHIBITED),
                Arguments.of(new SocketException("Operation not permitted"), FailureCode.LOCAL_FIREWALL),
                Arguments.of(new IOException("sendmsg: Operation not permitted"), FailureCode.LOCAL_FIREWALL),
                Arguments.of(new SocketException("Protocol family unavailable"), FailureCode.ADDRESS_FAMILY_UNAVAILABLE),
                Arguments.of(new SocketException("Address family not supported by protocol"), FailureCode.ADDRESS_FAMILY_UNAVAILABLE),
                Arguments.of(new UnknownHostException("nowhere.test"), FailureCode.INTERNAL),
                Arguments.of(new IllegalStateException("boom"), FailureCode.INTERNAL));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("measuredJavaErrors")
    void mapsMeasuredJavaErrorsToTheTaxonomy(Throwable error, FailureCode expected) {
        assertThat(SocketErrors.classify(error, DEST, LocalRoutes.everywhere()).code()).isEqualTo(expected);
    }

    /** Linux errno as the connector reads it from SO_ERROR: classified as the JDK's exception for it would be. */
    static Stream<Arguments> connectErrnos() {
        return Stream.of(
                Arguments.of(111, FailureCode.REFUSED),
                Arguments.of(110, FailureCode.TIMEOUT),
                Arguments.of(113, FailureCode.HOST_UNREACHABLE),
                Arguments.of(101, FailureCode.NET_UNREACHABLE),
                Arguments.of(13, FailureCode.ADMIN_PROHIBITED),
                Arguments.of(1, FailureCode.LOCAL_FIREWALL),
                Arguments.of(99, FailureCode.ADDRESS_FAMILY_UNAVAILABLE),
                Arguments.of(97, FailureCode.ADDRESS_FAMILY_UNAVAILABLE),
                Arguments.of(71, FailureCode.INTERNAL),
                Arguments.of(12345, FailureCode.INTERNAL));
    }

    @ParameterizedTest(name = "errno {0} -> {1}")
    @MethodSource("connectErrnos")
    void classifiesAConnectErrnoAsTheJdkExceptionForItWouldBe(int errno, FailureCode expected) {
        assertThat(SocketErrors.classify(SocketErrors.connectError(errno), DEST, LocalRoutes.everywhere()).code())
                .isEqualTo(expected);
    }

    @Test
    void aResetConnectErrnoReadsAsAResetAfterTheHandshake() {
        assertThat(TcpConnector.resetAfterHandshake(SocketErrors.connectError(104))).isTrue();
        assertThat(TcpConnector.resetAfterHandshake(SocketErrors.connectError(111))).isFalse();
    }

    static Stream<Arguments> nettyAndFutureWrappers() {
        ConnectException refused = new ConnectException("Connection refused");
        return Stream.of(
                // Netty's AbstractChannel.AnnotatedConnectException: message gets ": /addr:port", cause is the original.
                Arguments.of(new AnnotatedConnectException("Connection refused: /198.51.100.7:443", refused), FailureCode.REFUSED),
                Arguments.of(new ConnectException("finishConnect(..) failed: Connection refused: localhost/127.0.0.1:1"), FailureCode.REFUSED),
                Arguments.of(new ConnectException("connect(..) failed: No route to host"), FailureCode.HOST_UNREACHABLE),
                // Netty epoll throws new NoRouteToHostException() (no message) for ENETUNREACH.
                Arguments.of(new NoRouteToHostException(), FailureCode.NET_UNREACHABLE),
                Arguments.of(new CompletionException(new SocketTimeoutException("Connect timed out")), FailureCode.TIMEOUT),
                Arguments.of(new ExecutionException(new CompletionException(new ConnectException("Connection refused"))), FailureCode.REFUSED));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("nettyAndFutureWrappers")
    void unwrapsNettyAndFutureWrappers(Throwable error, FailureCode expected) {
        assertThat(SocketErrors.classify(error, DEST, LocalRoutes.everywhere()).code()).isEqualTo(expected);
    }

    @Test
    void reportsNoRouteWhenTheHostsOwnTableHasNoRoute() {
        LocalRoutes none = dest -> Optional.of("route lookup: Network is unreachable");
        SocketErrors.Classified c = SocketErrors.classify(new SocketException("Network is unreachable"), DEST, none);
        assertThat(c.code()).isEqualTo(FailureCode.NO_ROUTE);
        assertThat(c.detail()).contains("198.51.100.7").contains("no route");
    }

    @Test
    void localFirewallIsNeverMistakenForARoute() {
        LocalRoutes none = dest -> Optional.of("route lookup: Network is unreachable");
        assertThat(SocketErrors.classify(new SocketException("Operation not permitted"), DEST, none).code())
                .isEqualTo(FailureCode.LOCAL_FIREWALL);
    }

    @Test
    void unknownErrorsKeepTheExceptionText() {
        SocketErrors.Classified c = SocketErrors.classify(new IllegalStateException("weird state 42"), DEST,
                LocalRoutes.everywhere());
        assertThat(c.code()).isEqualTo(FailureCode.INTERNAL);
        assertThat(c.detail()).isEqualTo("IllegalStateException: weird state 42");
    }

    @Test
    void systemRoutesKnowLoopback() {
        assertThat(LocalRoutes.system().noRoute(literal("127.0.0.1"))).isEmpty();
    }

    /** Same shape as Netty's private AbstractChannel.AnnotatedConnectException. */
    static final class AnnotatedConnectException extends ConnectException {
        AnnotatedConnectException(String message, Throwable cause) {
            super(message);
            initCause(cause);
        }
    }

    static InetAddress literal(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(s, e);
        }
    }
}
