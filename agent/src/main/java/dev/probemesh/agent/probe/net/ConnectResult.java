package dev.probemesh.agent.probe.net;

import dev.probemesh.common.failure.FailureCode;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.Map;
import java.util.Objects;

/** What one {@link TcpConnector#connect} came to. */
public sealed interface ConnectResult {

    InetSocketAddress remote();

    /**
     * Connected. The caller owns {@code channel} (non-blocking, no longer registered with the
     * connector) and must close it; after a connect-only attempt ({@code keepOpen} false) the
     * connector has closed it already.
     */
    record Connected(SocketChannel channel, InetSocketAddress remote, long connectUs) implements ConnectResult {
        public Connected {
            Objects.requireNonNull(channel, "channel");
            Objects.requireNonNull(remote, "remote");
        }
    }

    /**
     * Failed, classified. {@code attributes} carries {@code rejected_by} and the ICMP type/code when
     * the ICMP error was read.
     */
    record Failed(InetSocketAddress remote, FailureCode code, String detail, Map<String, String> attributes,
            long elapsedUs) implements ConnectResult {
        public Failed {
            Objects.requireNonNull(remote, "remote");
            Objects.requireNonNull(code, "code");
            detail = detail == null ? "" : detail;
            attributes = attributes == null ? Map.of() : Map.copyOf(attributes);
        }
    }
}
