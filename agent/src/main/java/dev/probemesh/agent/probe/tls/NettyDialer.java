package dev.probemesh.agent.probe.tls;

import dev.probemesh.agent.probe.net.ConnectResult;
import dev.probemesh.agent.probe.net.FamilyDialer;
import dev.probemesh.agent.probe.net.TcpConnector;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.proto.v1.Family;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * Connects a Netty channel under the family rules of {@link FamilyDialer} (pinning, sequential
 * fallback reported as DEGRADED, the destination policy checked before every address is dialled).
 * The TCP connect itself is the shared {@link TcpConnector}'s, not Netty's: only the connector
 * reads the socket error queue, and that is what tells this host's own OUTPUT chain
 * {@code -j REJECT} (LOCAL_FIREWALL, which a plain connect sees as "Connection refused") and
 * names the router that rejected. So https and tls probes fail exactly as the tcp probe does on the
 * same path. The connected socket is then adopted into Netty on the probe's event loop, as
 * {@link dev.probemesh.agent.probe.tcp.TlsHandshaker} does.
 */
public final class NettyDialer {

    /** A connected channel (registered on the run's event loop) and how long its connect took. */
    public record Connection(Channel channel, InetSocketAddress remote, long connectNanos) {
        public Connection {
            Objects.requireNonNull(channel, "channel");
            Objects.requireNonNull(remote, "remote");
        }
    }

    /**
     * How long a probe whose deadline fell in the connect phase waits for the connector's own
     * verdict, due at that same deadline: it can tell more than "timed out" (no SYN ever left
     * this host: LOCAL_FIREWALL for a DROP in the OUTPUT chain). Well inside the runner's grace.
     */
    public static final long CONNECT_VERDICT_GRACE_MILLIS = 200;

    private final TcpConnector connector;
    private final FamilyDialer families;

    /** @param connector the agent's shared connector; owned by the caller */
    public NettyDialer(TcpConnector connector, FamilyDialer families) {
        this.connector = Objects.requireNonNull(connector, "connector");
        this.families = Objects.requireNonNull(families, "families");
    }

    /**
     * Dials {@code addresses} (resolver order) and registers the connected channel on {@code loop}
     * with {@code initializer} in its pipeline. {@code initializer} must be sharable (a
     * {@link io.netty.channel.ChannelInitializer}): each attempt makes a new channel. A channel
     * that connects after the caller gave up is the caller's to close. Never completes
     * exceptionally for a network failure: those are the outcome's code, detail and attributes
     * (such as {@code rejected_by}).
     */
    public CompletionStage<FamilyDialer.Outcome<Connection>> dial(EventLoop loop, List<InetAddress> addresses, int port,
            Family family, ChannelHandler initializer, long deadlineNanos) {
        Objects.requireNonNull(loop, "loop");
        Objects.requireNonNull(initializer, "initializer");
        return families.dial(addresses, family, deadlineNanos, (address, attemptDeadline) -> {
            InetSocketAddress remote = new InetSocketAddress(address, port);
            return connector.connect(remote, attemptDeadline).thenCompose(r -> {
                if (r instanceof ConnectResult.Connected c) {
                    return adopt(loop, c, initializer);
                }
                ConnectResult.Failed f = (ConnectResult.Failed) r;
                return CompletableFuture.completedFuture(
                        new FamilyDialer.Attempt.Failure<>(f.code(), f.detail(), f.attributes()));
            });
        });
    }

    /** Wraps the connected socket in a Netty channel and registers it; never completes exceptionally. */
    private static CompletionStage<FamilyDialer.Attempt<Connection>> adopt(EventLoop loop, ConnectResult.Connected c,
            ChannelHandler initializer) {
        CompletableFuture<FamilyDialer.Attempt<Connection>> out = new CompletableFuture<>();
        NioSocketChannel ch;
        try {
            ch = new NioSocketChannel(c.channel());
            // What Netty's own connect set: no Nagle delay on the request or the handshake.
            ch.config().setTcpNoDelay(true);
            ch.pipeline().addLast(initializer);
        } catch (RuntimeException e) {
            closeQuietly(c.channel());
            out.complete(new FamilyDialer.Attempt.Failure<>(FailureCode.INTERNAL,
                    "cannot adopt the connected socket: " + e, Map.of()));
            return out;
        }
        long connectNanos = TimeUnit.MICROSECONDS.toNanos(c.connectUs());
        try {
            loop.register(ch).addListener(reg -> {
                if (reg.isSuccess()) {
                    out.complete(new FamilyDialer.Attempt.Success<>(new Connection(ch, c.remote(), connectNanos), Map.of()));
                } else {
                    ch.close();
                    closeQuietly(c.channel());
                    out.complete(new FamilyDialer.Attempt.Failure<>(FailureCode.INTERNAL,
                            "cannot register the socket: " + reg.cause(), Map.of()));
                }
            });
        } catch (RuntimeException e) {
            // The probe's event loop is shut down (the probe was closed).
            closeQuietly(c.channel());
            out.complete(new FamilyDialer.Attempt.Failure<>(FailureCode.INTERNAL, "cannot register the socket: " + e,
                    Map.of()));
        }
        return out;
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // closing a socket we give up on: nothing to report
        }
    }
}
