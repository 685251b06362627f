package dev.probemesh.agent.probe.tcp;

import dev.probemesh.common.check.Hosts;
import dev.probemesh.common.failure.FailureCode;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.nio.channels.SocketChannel;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * A TLS client handshake over an already connected channel, for {@code tcp.tls}: the channel is
 * adopted into a Netty NIO event loop (no thread per handshake), the JDK provider verifies the
 * chain against the system's CAs plus the agent's extra ones and checks the hostname, then the
 * channel is closed. The outcome is a failure code (null when the handshake succeeded).
 */
public final class TlsHandshaker {

    /** What the handshake came to: code null on success; protocol and cipher when it succeeded. */
    public record Outcome(FailureCode code, String detail, String protocol, String cipher) {
        public Outcome {
            detail = detail == null ? "" : detail;
            protocol = protocol == null ? "" : protocol;
            cipher = cipher == null ? "" : cipher;
        }
    }

    private final EventLoopGroup group;
    private final List<X509Certificate> extraTrust;
    private SslContext context;

    /**
     * @param group the event loop(s) that drive handshakes; owned by the caller
     * @param extraTrust CAs trusted besides the system's (the lab's CA)
     */
    public TlsHandshaker(EventLoopGroup group, List<X509Certificate> extraTrust) {
        this.group = Objects.requireNonNull(group, "group");
        this.extraTrust = List.copyOf(extraTrust);
    }

    // Built on the first tcp.tls check, not at agent start: parsing the system's CAs costs an
    // agent that never checks TLS megabytes of heap and metaspace (docs/ARCHITECTURE.md, "Agent memory").
    private synchronized SslContext context() throws GeneralSecurityException, javax.net.ssl.SSLException {
        if (context == null) {
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init((KeyStore) null);
            List<X509Certificate> roots = new ArrayList<>(extraTrust);
            for (var tm : tmf.getTrustManagers()) {
                if (tm instanceof X509TrustManager x) {
                    roots.addAll(Arrays.asList(x.getAcceptedIssuers()));
                }
            }
            context = SslContextBuilder.forClient().sslProvider(SslProvider.JDK)
                    .trustManager(roots.toArray(X509Certificate[]::new)).build();
        }
        return context;
    }

    /**
     * Handshakes over {@code connected} (non-blocking, connected, not registered anywhere) with
     * {@code serverName} as SNI and expected hostname (an IP literal: no SNI, the address is
     * checked against the certificate's IP SANs). Always closes the channel; never completes
     * exceptionally.
     */
    public CompletionStage<Outcome> handshake(SocketChannel connected, String serverName, int port, long deadlineNanos) {
        CompletableFuture<Outcome> out = new CompletableFuture<>();
        NioSocketChannel ch;
        try {
            ch = new NioSocketChannel(connected);
        } catch (RuntimeException e) {
            out.complete(new Outcome(FailureCode.INTERNAL, "cannot adopt the connected socket: " + e, null, null));
            return out;
        }
        SSLEngine engine;
        try {
            engine = context().newEngine(ch.alloc(), serverName, port);
        } catch (GeneralSecurityException | javax.net.ssl.SSLException e) {
            ch.close();
            out.complete(new Outcome(FailureCode.INTERNAL, "cannot build the TLS client context: " + e, null, null));
            return out;
        }
        SSLParameters params = engine.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS");
        if (!Hosts.isIpLiteral(serverName)) {
            params.setServerNames(List.of(new SNIHostName(serverName)));
        }
        engine.setSSLParameters(params);
        SslHandler ssl = new SslHandler(engine);
        long timeoutMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime()));
        ssl.setHandshakeTimeoutMillis(timeoutMs);
        ch.pipeline().addLast(ssl);
        // The handshake future reports failures; this keeps them from reaching the pipeline's tail as warnings.
        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.close();
            }
        });
        group.register(ch).addListener(reg -> {
            if (!reg.isSuccess()) {
                ch.close();
                out.complete(new Outcome(FailureCode.INTERNAL, "cannot register the socket: " + reg.cause(), null, null));
            }
        });
        ssl.handshakeFuture().addListener(hs -> {
            if (hs.isSuccess()) {
                var session = engine.getSession();
                out.complete(new Outcome(null, "", session.getProtocol(), session.getCipherSuite()));
            } else {
                out.complete(classify(hs.cause()));
            }
            ch.close();
        });
        return out;
    }

    /** Maps a handshake failure to the tls codes of the taxonomy. */
    static Outcome classify(Throwable t) {
        Throwable root = t;
        for (Throwable e = t; e != null; e = e.getCause()) {
            root = e;
            if (e instanceof CertificateExpiredException) {
                return new Outcome(FailureCode.TLS_CERT_EXPIRED, "certificate expired: " + e.getMessage(), null, null);
            }
            if (e instanceof CertificateNotYetValidException) {
                return new Outcome(FailureCode.TLS_CERT_UNTRUSTED, "certificate not yet valid: " + e.getMessage(), null, null);
            }
            String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
            if (m.contains("no subject alternative") || m.contains("no name matching")) {
                return new Outcome(FailureCode.TLS_HOSTNAME_MISMATCH, e.getMessage(), null, null);
            }
            if (e instanceof CertPathValidatorException || m.contains("unable to find valid certification path")) {
                return new Outcome(FailureCode.TLS_CERT_UNTRUSTED, "untrusted certificate: " + e.getMessage(), null, null);
            }
            if (e.getClass().getSimpleName().equals("SslHandshakeTimeoutException")) {
                return new Outcome(FailureCode.TIMEOUT, "TLS handshake timed out", null, null);
            }
        }
        return new Outcome(FailureCode.TLS_HANDSHAKE, root.getClass().getSimpleName() + ": " + root.getMessage(), null, null);
    }
}
