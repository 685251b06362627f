package dev.probemesh.agent.probe.tcp;

import dev.probemesh.agent.probe.PhaseTimings;
import dev.probemesh.agent.probe.Probe;
import dev.probemesh.agent.probe.ProbeEnv;
import dev.probemesh.agent.probe.ProbeResult;
import dev.probemesh.agent.probe.net.Addresses;
import dev.probemesh.agent.probe.net.ConnectResult;
import dev.probemesh.agent.probe.net.FamilyDialer;
import dev.probemesh.agent.probe.net.ResolveException;
import dev.probemesh.agent.probe.net.TcpConnector;
import dev.probemesh.common.check.HostPort;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Check;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The {@code tcp} probe: resolves the target through the agent's resolver, dials it under the
 * check's family rules ({@link FamilyDialer}) with the ICMP-aware {@link TcpConnector}, and
 * optionally completes a TLS handshake ({@code tcp.tls}, SNI {@code tcp.server_name}, default the
 * target host). Timings: resolve, connect, tls, total.
 */
public final class TcpProbe implements Probe {

    private final ProbeEnv env;
    private final TcpConnector connector;
    private final FamilyDialer dialer;
    private final TlsHandshaker tls;

    /**
     * @param tls the handshaker for {@code tcp.tls} checks; null makes such checks UNSUPPORTED
     */
    public TcpProbe(ProbeEnv env, TcpConnector connector, FamilyDialer dialer, TlsHandshaker tls) {
        this.env = Objects.requireNonNull(env, "env");
        this.connector = Objects.requireNonNull(connector, "connector");
        this.dialer = Objects.requireNonNull(dialer, "dialer");
        this.tls = tls;
    }

    @Override
    public CompletionStage<ProbeResult> run(Check check, long deadlineNanos) {
        long t0 = System.nanoTime();
        HostPort hp = target(check.getTarget(), check.getTcp().getPort());
        if (hp == null || hp.port() <= 0 || hp.port() > 65535) {
            return CompletableFuture.completedFuture(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                    "target \"" + check.getTarget() + "\" needs a port 1-65535"));
        }
        if (check.getTcp().getTls() && tls == null) {
            return CompletableFuture.completedFuture(ProbeResult.refused(ProbeStatus.UNSUPPORTED,
                    FailureCode.UNSUPPORTED, "this agent has no TLS handshaker for tcp.tls"));
        }
        CompletionStage<List<InetAddress>> resolved;
        try {
            resolved = env.resolver().resolve(hp.host(), check.getFamily(), deadlineNanos);
        } catch (RuntimeException e) {
            resolved = CompletableFuture.failedFuture(e);
        }
        CompletableFuture<ProbeResult> out = new CompletableFuture<>();
        resolved.handle((addrs, err) -> err != null
                        ? CompletableFuture.completedFuture(resolveFailed(err, micros(t0), t0, check))
                        : dial(addrs, check, hp, micros(t0), t0, deadlineNanos))
                .thenCompose(stage -> stage)
                .whenComplete((r, e) -> {
                    ProbeResult res = e == null ? r : ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                            "tcp probe failed internally: " + e);
                    if (!connector.onSelectorThread()) {
                        out.complete(res); // already off it (a connector that completes on the scheduler)
                        return;
                    }
                    // Off the connector's selector thread: whatever the caller does next must not stall it.
                    try {
                        env.scheduler().execute(() -> out.complete(res));
                    } catch (RejectedExecutionException rejected) {
                        out.complete(res); // shutting down
                    }
                });
        return out;
    }

    private CompletionStage<ProbeResult> dial(List<InetAddress> addrs, Check check, HostPort hp, long resolveUs,
            long t0, long deadlineNanos) {
        return dialer.<ConnectResult.Connected>dial(addrs, check.getFamily(), deadlineNanos,
                        (a, d) -> connector.connect(new InetSocketAddress(a, hp.port()), d, check.getTcp().getTls())
                                .thenApply(TcpProbe::attempt))
                .thenCompose(o -> afterDial(o, check, hp, resolveUs, t0, deadlineNanos));
    }

    private static FamilyDialer.Attempt<ConnectResult.Connected> attempt(ConnectResult r) {
        if (r instanceof ConnectResult.Connected c) {
            return new FamilyDialer.Attempt.Success<>(c, Map.of());
        }
        ConnectResult.Failed f = (ConnectResult.Failed) r;
        return new FamilyDialer.Attempt.Failure<>(f.code(), f.detail(), f.attributes());
    }

    private CompletionStage<ProbeResult> afterDial(FamilyDialer.Outcome<ConnectResult.Connected> o, Check check,
            HostPort hp, long resolveUs, long t0, long deadlineNanos) {
        if (!o.connected()) {
            return CompletableFuture.completedFuture(
                    o.toResult(new PhaseTimings(resolveUs, 0, 0, 0, micros(t0)), ""));
        }
        ConnectResult.Connected c = o.value();
        String addr = Addresses.text(o.address());
        Map<String, String> attrs = new LinkedHashMap<>(o.attributes());
        attrs.put("port", Integer.toString(hp.port()));
        String okDetail = "connected to " + hostPort(addr, hp.port());
        if (!check.getTcp().getTls()) {
            closeQuietly(c); // a no-op: the connector closed it once connected (keepOpen false)
            return CompletableFuture.completedFuture(result(o, okDetail, new PhaseTimings(resolveUs, c.connectUs(), 0, 0,
                    micros(t0)), addr, attrs));
        }
        String sni = check.getTcp().getServerName().isEmpty() ? hp.host() : check.getTcp().getServerName();
        long tlsStart = System.nanoTime();
        return tls.handshake(c.channel(), sni, hp.port(), deadlineNanos).thenApply(h -> {
            PhaseTimings t = new PhaseTimings(resolveUs, c.connectUs(), micros(tlsStart), 0, micros(t0));
            if (h.code() != null) {
                attrs.put("server_name", sni);
                return new ProbeResult(ProbeStatus.FAIL, h.code(), h.detail(), t, addr, o.family(), attrs);
            }
            attrs.put("tls_version", h.protocol());
            attrs.put("tls_cipher", h.cipher());
            return result(o, okDetail + ", TLS " + h.protocol() + " with " + sni, t, addr, attrs);
        });
    }

    /** OK, or DEGRADED keeping the dialer's fallback detail. */
    private static ProbeResult result(FamilyDialer.Outcome<?> o, String okDetail, PhaseTimings t, String addr,
            Map<String, String> attrs) {
        if (o.status() == ProbeStatus.DEGRADED) {
            return new ProbeResult(ProbeStatus.DEGRADED, o.failure(), o.detail(), t, addr, o.family(), attrs);
        }
        return ProbeResult.ok(okDetail, t, addr, o.family(), attrs);
    }

    private static ProbeResult resolveFailed(Throwable err, long resolveUs, long t0, Check check) {
        Throwable e = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
        PhaseTimings t = new PhaseTimings(resolveUs, 0, 0, 0, micros(t0));
        if (e instanceof ResolveException re) {
            return new ProbeResult(ProbeStatus.FAIL, re.code(), re.getMessage(), t, "", check.getFamily(), Map.of());
        }
        return new ProbeResult(ProbeStatus.ERROR, FailureCode.INTERNAL, "resolving failed: " + e, t, "",
                check.getFamily(), Map.of());
    }

    /**
     * host, host:port, v4:port, [v6]:port or a bare v6 literal. Not {@code HostPort.parse}: it
     * takes "203.0.113.10:443" for an IPv6 literal (its v6 pattern accepts dots and colons).
     */
    static HostPort target(String text, int defaultPort) {
        String t = text == null ? "" : text.trim();
        if (t.isEmpty()) {
            return null;
        }
        if (t.startsWith("[")) {
            return HostPort.parse(t, defaultPort);
        }
        int first = t.indexOf(':');
        if (first < 0) {
            return new HostPort(t, defaultPort);
        }
        if (first != t.lastIndexOf(':')) {
            return new HostPort(t, defaultPort); // a bare IPv6 literal
        }
        try {
            return new HostPort(t.substring(0, first), Integer.parseInt(t.substring(first + 1)));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static String hostPort(String addr, int port) {
        return (addr.contains(":") ? "[" + addr + "]" : addr) + ":" + port;
    }

    private static void closeQuietly(ConnectResult.Connected c) {
        try {
            c.channel().close();
        } catch (IOException e) {
            // the probe already has its answer
        }
    }

    private static long micros(long start) {
        return TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - start);
    }
}
