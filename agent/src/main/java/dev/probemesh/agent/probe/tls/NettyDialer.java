package dev.probemesh.agent.probe.tls;

import dev.probemesh.agent.probe.net.FamilyDialer;
import dev.probemesh.agent.probe.net.SocketErrors;
import dev.probemesh.proto.v1.Family;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * Connects a Netty channel under the family rules of {@link FamilyDialer} (pinning, sequential
 * fallback reported as DEGRADED, the destination policy checked before every address is dialled),
 * with connect errors classified by {@link SocketErrors}, so https and tls probes fail exactly as
 * the tcp probe does on the same path.
 */
public final class NettyDialer {

    /** A connected channel and how long its (successful) connect took. */
    public record Connection(Channel channel, InetSocketAddress remote, long connectNanos) {
        public Connection {
            Objects.requireNonNull(channel, "channel");
            Objects.requireNonNull(remote, "remote");
        }
    }

    private final Bootstrap template;
    private final FamilyDialer families;

    /** {@code template} carries the channel type and options; it is cloned per attempt, never mutated. */
    public NettyDialer(Bootstrap template, FamilyDialer families) {
        this.template = Objects.requireNonNull(template, "template");
        this.families = Objects.requireNonNull(families, "families");
    }

    /**
     * Dials {@code addresses} (resolver order) on {@code loop}. {@code initializer} must be sharable
     * (a {@link io.netty.channel.ChannelInitializer}): each attempt makes a new channel. A channel
     * that connects after the caller gave up is the caller's to close.
     */
    public CompletionStage<FamilyDialer.Outcome<Connection>> dial(EventLoop loop, List<InetAddress> addresses, int port,
            Family family, ChannelHandler initializer, long deadlineNanos) {
        return families.dial(addresses, family, deadlineNanos, (address, attemptDeadline) -> {
            CompletableFuture<FamilyDialer.Attempt<Connection>> attempt = new CompletableFuture<>();
            InetSocketAddress remote = new InetSocketAddress(address, port);
            long timeoutMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(attemptDeadline - System.nanoTime()));
            long started = System.nanoTime();
            ChannelFuture f = template.clone(loop)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeoutMs))
                    .handler(initializer)
                    .connect(remote);
            f.addListener(cf -> {
                if (cf.isSuccess()) {
                    attempt.complete(new FamilyDialer.Attempt.Success<>(
                            new Connection(f.channel(), remote, System.nanoTime() - started), Map.of()));
                } else {
                    SocketErrors.Classified c = SocketErrors.classify(cf.cause(), address);
                    attempt.complete(new FamilyDialer.Attempt.Failure<>(c.code(),
                            c.detail() + " (port " + port + ")", Map.of()));
                }
            });
            return attempt;
        });
    }
}
