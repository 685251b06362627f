package dev.probemesh.agent.probe.tls;

import dev.probemesh.agent.probe.PhaseTimings;
import dev.probemesh.agent.probe.Probe;
import dev.probemesh.agent.probe.ProbeEnv;
import dev.probemesh.agent.probe.ProbeResult;
import dev.probemesh.agent.probe.net.FamilyDialer;
import dev.probemesh.agent.probe.net.TcpConnector;
import dev.probemesh.common.check.HostPort;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.Family;
import dev.probemesh.proto.v1.TlsParams;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import java.net.InetAddress;
import java.security.GeneralSecurityException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * The {@code tls} probe: connect (to {@code connect_to} or the resolved addresses, family rules of
 * DESIGN.md), handshake with SNI = {@code server_name} or the target host, validate the chain
 * against the system CAs plus the agent's extra CAs (or only {@code ca_pem}), match the host name and
 * report the leaf's expiry. DEGRADED TLS_CERT_EXPIRING when fewer than {@code warn_days} (default
 * 14) days are left.
 *
 * <p>Attributes: {@code days_left}, {@code not_after}, {@code issuer}, {@code subject} (also on a
 * failed validation when the server presented a chain), {@code tls_version}, {@code cipher}.
 */
public final class TlsProbe implements Probe, AutoCloseable {
    static final int DEFAULT_WARN_DAYS = 14;

    private final ProbeEnv env;
    private final EventLoopGroup group;
    private final boolean ownsGroup;
    private final TcpConnector connector;
    private final boolean ownsConnector;
    private final Clock clock;
    private final TlsContexts contexts;
    private final NettyDialer dialer;

    /** A probe with its own single-thread event loop and TCP connector, both shut down by {@link #close()}. */
    public TlsProbe(ProbeEnv env, FamilyDialer families) {
        this(env, families, new TcpConnector(), true, newGroup("probemesh-tls"), true, Clock.systemUTC());
    }

    /** A probe on a borrowed event loop group, which {@link #close()} leaves running, with its own TCP connector. */
    public TlsProbe(ProbeEnv env, FamilyDialer families, EventLoopGroup group, Clock clock) {
        this(env, families, new TcpConnector(), true, group, false, clock);
    }

    /**
     * A probe on a borrowed connector (the agent's shared one, which reads ICMP errors and so tells
     * this host's own firewall apart) and a borrowed event loop group; {@link #close()} leaves both
     * running.
     */
    public TlsProbe(ProbeEnv env, FamilyDialer families, TcpConnector connector, EventLoopGroup group, Clock clock) {
        this(env, families, connector, false, group, false, clock);
    }

    private TlsProbe(ProbeEnv env, FamilyDialer families, TcpConnector connector, boolean ownsConnector,
            EventLoopGroup group, boolean ownsGroup, Clock clock) {
        this.env = Objects.requireNonNull(env, "env");
        this.group = Objects.requireNonNull(group, "group");
        this.ownsGroup = ownsGroup;
        this.connector = Objects.requireNonNull(connector, "connector");
        this.ownsConnector = ownsConnector;
        this.clock = Objects.requireNonNull(clock, "clock");
        this.contexts = new TlsContexts(env.extraTrust());
        this.dialer = new NettyDialer(connector, families);
    }

    /** One event loop thread is plenty: a probe run is a few callbacks, never blocking work. */
    public static EventLoopGroup newGroup(String threadName) {
        return new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory(threadName, true), NioIoHandler.newFactory());
    }

    @Override
    public CompletionStage<ProbeResult> run(Check check, long deadlineNanos) {
        TlsParams p = check.getTls();
        HostPort hp = DialTargets.hostPort(check.getTarget(), p.getPort() == 0 ? 443 : p.getPort());
        if (hp == null) {
            return CompletableFuture.completedFuture(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                    "target \"" + check.getTarget() + "\" is not host or host:port"));
        }
        String serverName = p.getServerName().isBlank() ? hp.host() : p.getServerName();
        SslContext ctx;
        try {
            ctx = contexts.context(new TlsContexts.Trust(p.getCaPem(), false));
        } catch (GeneralSecurityException e) {
            return CompletableFuture.completedFuture(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                    "tls.ca_pem: " + e.getMessage()));
        }
        int warnDays = p.getWarnDays() == 0 ? DEFAULT_WARN_DAYS : p.getWarnDays();
        Run r = new Run(check, hp, serverName, ctx, warnDays, deadlineNanos);
        try {
            r.loop.execute(r::start);
        } catch (RejectedExecutionException e) {
            return CompletableFuture.completedFuture(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                    "the tls probe is closed"));
        }
        return r.result;
    }

    @Override
    public void close() {
        if (ownsGroup) {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
        if (ownsConnector) {
            connector.close();
        }
    }

    private enum Phase { RESOLVE, CONNECT, TLS }

    /** One run, confined to one event loop, so its fields need no locking. */
    private final class Run {
        final CompletableFuture<ProbeResult> result = new CompletableFuture<>();
        final EventLoop loop = group.next();
        final Check check;
        final HostPort target;
        final String serverName;
        final SslContext ctx;
        final int warnDays;
        final long deadlineNanos;
        final long started = System.nanoTime();
        Phase phase = Phase.RESOLVE;
        long phaseStarted = started;
        long resolveUs;
        long connectUs;
        Channel channel;
        FamilyDialer.Outcome<NettyDialer.Connection> dial;
        Future<?> deadlineTask;
        boolean connectGraceGiven;

        Run(Check check, HostPort target, String serverName, SslContext ctx, int warnDays, long deadlineNanos) {
            this.check = check;
            this.target = target;
            this.serverName = serverName;
            this.ctx = ctx;
            this.warnDays = warnDays;
            this.deadlineNanos = deadlineNanos;
        }

        void start() {
            deadlineTask = loop.schedule(this::onDeadline, Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
            DialTargets.addresses(env.resolver(), target.host(), check.getTls().getConnectTo(), check.getFamily(), deadlineNanos)
                    .whenComplete((addrs, err) -> loop.execute(() -> resolved(addrs, err)));
        }

        void resolved(List<InetAddress> addrs, Throwable err) {
            if (result.isDone()) {
                return;
            }
            resolveUs = micros(System.nanoTime() - started);
            if (err != null) {
                finish(DialTargets.resolveFailure(target.host(), err, timings()));
                return;
            }
            phase = Phase.CONNECT;
            phaseStarted = System.nanoTime();
            dialer.dial(loop, addrs, target.port(), check.getFamily(), new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                    SslHandler ssl = ctx.newHandler(ch.alloc(), serverName, target.port());
                    // Our own deadline bounds the handshake; SslHandler's 10 s default must not cut in.
                    ssl.setHandshakeTimeoutMillis(0);
                    ch.pipeline().addLast(ssl, new Quiet());
                }
            }, deadlineNanos).whenComplete((o, e) -> loop.execute(() -> dialed(o, e)));
        }

        void dialed(FamilyDialer.Outcome<NettyDialer.Connection> outcome, Throwable err) {
            if (err != null) {
                finish(new ProbeResult(ProbeStatus.ERROR, FailureCode.INTERNAL, "dialling failed: " + err, timings(), "",
                        Family.FAMILY_ANY, Map.of()));
                return;
            }
            if (!outcome.connected()) {
                finish(outcome.toResult(timings(), ""));
                return;
            }
            dial = outcome;
            channel = outcome.value().channel();
            if (result.isDone()) {
                channel.close();
                return;
            }
            connectUs = micros(outcome.value().connectNanos());
            phase = Phase.TLS;
            phaseStarted = System.nanoTime();
            SslHandler ssl = channel.pipeline().get(SslHandler.class);
            ssl.handshakeFuture().addListener(hf -> handshaken(ssl.engine(), hf));
        }

        void handshaken(SSLEngine engine, Future<?> hf) {
            if (result.isDone()) {
                contexts.forget(engine);
                return;
            }
            long tlsUs = micros(System.nanoTime() - phaseStarted);
            PhaseTimings t = new PhaseTimings(resolveUs, connectUs, tlsUs, 0, micros(System.nanoTime() - started));
            if (!hf.isSuccess()) {
                List<X509Certificate> chain = contexts.takePresentedChain(engine);
                TlsContexts.Classified c = TlsContexts.classifyHandshake(hf.cause());
                finish(new ProbeResult(ProbeStatus.FAIL, c.code(), withDialNote(c.detail()), t, address(), family(),
                        withDialAttributes(certAttributes(chain))));
                return;
            }
            contexts.forget(engine);
            SSLSession session = engine.getSession();
            List<X509Certificate> chain = new ArrayList<>();
            try {
                for (Certificate c : session.getPeerCertificates()) {
                    chain.add((X509Certificate) c);
                }
            } catch (SSLPeerUnverifiedException e) {
                // Not reachable after a verified handshake; reported below as a missing leaf.
            }
            Map<String, String> attrs = new HashMap<>(withDialAttributes(certAttributes(chain)));
            attrs.put("tls_version", session.getProtocol());
            attrs.put("cipher", session.getCipherSuite());
            if (chain.isEmpty()) {
                finish(new ProbeResult(ProbeStatus.FAIL, FailureCode.TLS_HANDSHAKE, "the server presented no certificate",
                        t, address(), family(), attrs));
                return;
            }
            long daysLeft = daysLeft(chain.get(0));
            String who = chain.get(0).getSubjectX500Principal().getName();
            if (daysLeft < warnDays) {
                finish(new ProbeResult(ProbeStatus.DEGRADED, FailureCode.TLS_CERT_EXPIRING,
                        withDialNote("certificate " + who + " expires in " + daysLeft + " days (warn below " + warnDays + ")"),
                        t, address(), family(), attrs));
            } else if (dial.status() == ProbeStatus.DEGRADED) {
                finish(new ProbeResult(ProbeStatus.DEGRADED, dial.failure(), "handshake OK after " + dial.detail(),
                        t, address(), family(), attrs));
            } else {
                finish(ProbeResult.ok("certificate valid for " + daysLeft + " more days, " + session.getProtocol(),
                        t, address(), family(), attrs));
            }
        }

        void onDeadline() {
            if (result.isDone()) {
                return;
            }
            if (phase == Phase.CONNECT && !connectGraceGiven) {
                // The connector's verdict for the last attempt is due now and may say why (a local DROP).
                connectGraceGiven = true;
                deadlineTask = loop.schedule(this::onDeadline, NettyDialer.CONNECT_VERDICT_GRACE_MILLIS,
                        TimeUnit.MILLISECONDS);
                return;
            }
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - phaseStarted);
            ProbeResult r = switch (phase) {
                case RESOLVE -> ProbeResult.fail(FailureCode.DNS_TIMEOUT, target.host() + " not resolved within " + ms + " ms",
                        timings(), "", check.getFamily(), Map.of());
                case CONNECT -> ProbeResult.fail(FailureCode.TIMEOUT, "not connected within " + ms + " ms", timings(), "",
                        check.getFamily(), Map.of());
                case TLS -> ProbeResult.fail(FailureCode.TIMEOUT,
                        withDialNote("TLS handshake not finished within " + ms + " ms after connect"),
                        timings(), address(), family(), withDialAttributes(Map.of()));
            };
            finish(r);
        }

        PhaseTimings timings() {
            return new PhaseTimings(resolveUs, connectUs, 0, 0, micros(System.nanoTime() - started));
        }

        String address() {
            return dial == null ? "" : dial.address().getHostAddress();
        }

        Family family() {
            return dial == null ? Family.FAMILY_ANY : dial.family();
        }

        String withDialNote(String detail) {
            return dial == null || dial.status() != ProbeStatus.DEGRADED ? detail : detail + "; " + dial.detail();
        }

        Map<String, String> withDialAttributes(Map<String, String> attrs) {
            if (dial == null || dial.attributes().isEmpty()) {
                return attrs;
            }
            Map<String, String> all = new HashMap<>(dial.attributes());
            all.putAll(attrs);
            return all;
        }

        void finish(ProbeResult r) {
            if (result.isDone()) {
                return;
            }
            if (deadlineTask != null) {
                deadlineTask.cancel(false);
            }
            if (channel != null) {
                channel.close();
            }
            result.complete(r);
        }
    }

    long daysLeft(X509Certificate leaf) {
        long seconds = leaf.getNotAfter().toInstant().getEpochSecond() - clock.instant().getEpochSecond();
        return Math.floorDiv(seconds, 86_400L);
    }

    private Map<String, String> certAttributes(List<X509Certificate> chain) {
        if (chain.isEmpty()) {
            return Map.of();
        }
        X509Certificate leaf = chain.get(0);
        Instant notAfter = leaf.getNotAfter().toInstant();
        return Map.of(
                "days_left", Long.toString(daysLeft(leaf)),
                "not_after", notAfter.toString(),
                "issuer", leaf.getIssuerX500Principal().getName(),
                "subject", leaf.getSubjectX500Principal().getName());
    }

    static long micros(long nanos) {
        return TimeUnit.NANOSECONDS.toMicros(nanos);
    }

    /** Swallows the exception a failed handshake also fires down the pipeline: the handshake future reports it. */
    private static final class Quiet extends ChannelInboundHandlerAdapter {
        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
