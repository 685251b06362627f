package dev.probemesh.agent.probe.http;

import dev.probemesh.agent.probe.PhaseTimings;
import dev.probemesh.agent.probe.Probe;
import dev.probemesh.agent.probe.ProbeEnv;
import dev.probemesh.agent.probe.ProbeResult;
import dev.probemesh.agent.probe.net.FamilyDialer;
import dev.probemesh.agent.probe.net.TcpConnector;
import dev.probemesh.agent.probe.tls.DialTargets;
import dev.probemesh.agent.probe.tls.NettyDialer;
import dev.probemesh.agent.probe.tls.TlsContexts;
import dev.probemesh.agent.probe.tls.TlsProbe;
import dev.probemesh.common.failure.FailureCode;
import dev.probemesh.common.failure.ProbeStatus;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.Family;
import dev.probemesh.proto.v1.HttpParams;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The {@code http} and {@code https} probes: one HTTP/1.1 request with {@code Connection: close}
 * over Netty. The Host header and SNI are the URL's host while the dialled address may be
 * {@code connect_to} (like curl --resolve) or what the probe's resolver answers; family pinning and
 * fallback follow {@link FamilyDialer}; every dialled address, redirect hops included, passes the
 * agent's destination policy. At most 64 KiB of body is read; redirects are followed (when asked)
 * up to 5 hops.
 *
 * <p>Failure codes: transport codes from the shared TcpConnector (LOCAL_FIREWALL and
 * {@code rejected_by} included), DNS codes from the resolver, TLS codes from the handshake, then HTTP_STATUS, BODY_MISMATCH, HTTP_CDN_ORIGIN_DNS (530 + error 1016),
 * HTTP_CDN_ORIGIN_DOWN (520-526), HTTP_WAF_CHALLENGE (403/503 challenge), HTTP_RATE_LIMITED (429),
 * HTTP_PROTOCOL (no or malformed response), TIMEOUT naming the phase the deadline hit. Attributes:
 * {@code http_status}, {@code server}, {@code cf_ray}, {@code cf_error}, {@code retry_after},
 * {@code redirects}, {@code final_url}, {@code tls_version}, {@code body_truncated}.
 */
public final class HttpProbe implements Probe, AutoCloseable {
    static final int MAX_BODY_BYTES = 64 * 1024;
    static final int MAX_REDIRECTS = 5;
    private static final String USER_AGENT = "probemesh-agent";
    // CDNs and WAFs send large header blocks (cookies, CSP); Netty's 8 KiB default would turn a
    // real answer into a protocol error.
    private static final HttpDecoderConfig DECODER = new HttpDecoderConfig().setMaxHeaderSize(64 * 1024);

    private final ProbeEnv env;
    private final EventLoopGroup group;
    private final boolean ownsGroup;
    private final TcpConnector connector;
    private final boolean ownsConnector;
    private final Clock clock;
    private final TlsContexts contexts;
    private final NettyDialer dialer;

    /** A probe with its own single-thread event loop and TCP connector, both shut down by {@link #close()}. */
    public HttpProbe(ProbeEnv env, FamilyDialer families) {
        this(env, families, new TcpConnector(), true, TlsProbe.newGroup("probemesh-http"), true, Clock.systemUTC());
    }

    /** A probe on a borrowed event loop group, which {@link #close()} leaves running, with its own TCP connector. */
    public HttpProbe(ProbeEnv env, FamilyDialer families, EventLoopGroup group, Clock clock) {
        this(env, families, new TcpConnector(), true, group, false, clock);
    }

    /**
     * A probe on a borrowed connector (the agent's shared one, which reads ICMP errors and so tells
     * this host's own firewall apart) and a borrowed event loop group; {@link #close()} leaves both
     * running.
     */
    public HttpProbe(ProbeEnv env, FamilyDialer families, TcpConnector connector, EventLoopGroup group, Clock clock) {
        this(env, families, connector, false, group, false, clock);
    }

    private HttpProbe(ProbeEnv env, FamilyDialer families, TcpConnector connector, boolean ownsConnector,
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

    @Override
    public CompletionStage<ProbeResult> run(Check check, long deadlineNanos) {
        URI url;
        try {
            url = new URI(check.getTarget());
        } catch (URISyntaxException e) {
            return CompletableFuture.completedFuture(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                    "target is not a URL: " + e.getMessage()));
        }
        if (scheme(url).isEmpty() || url.getHost() == null) {
            return CompletableFuture.completedFuture(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                    "target \"" + check.getTarget() + "\" is not an http:// or https:// URL with a host"));
        }
        if (scheme(url).equals("https")) {
            // Built (once per trust config) on the caller's thread: loading the system CAs must not stall the event loop.
            try {
                contexts.context(new TlsContexts.Trust(check.getHttp().getCaPem(), check.getHttp().getInsecureSkipVerify()));
            } catch (GeneralSecurityException e) {
                return CompletableFuture.completedFuture(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                        "http.ca_pem: " + e.getMessage()));
            }
        }
        Run r = new Run(check, url, deadlineNanos);
        try {
            r.loop.execute(() -> r.start(url));
        } catch (RejectedExecutionException e) {
            return CompletableFuture.completedFuture(ProbeResult.refused(ProbeStatus.ERROR, FailureCode.INTERNAL,
                    "the http probe is closed"));
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

    private static String scheme(URI u) {
        String s = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
        return s.equals("http") || s.equals("https") ? s : "";
    }

    private static String hostOf(URI u) {
        String h = u.getHost();
        return h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
    }

    private static int portOf(URI u) {
        return u.getPort() > 0 ? u.getPort() : scheme(u).equals("https") ? 443 : 80;
    }

    private enum Phase { RESOLVE, CONNECT, TLS, REQUEST, AWAIT_RESPONSE, BODY }

    /** One run (all its hops), confined to one event loop, so its fields need no locking. */
    private final class Run {
        final CompletableFuture<ProbeResult> result = new CompletableFuture<>();
        final EventLoop loop = group.next();
        final Check check;
        final HttpParams p;
        final URI original;
        final long deadlineNanos;
        final long started = System.nanoTime();
        Future<?> deadlineTask;
        boolean connectGraceGiven;
        // per hop
        int hop;
        URI url;
        HttpMethod method;
        byte[] body;
        Phase phase = Phase.RESOLVE;
        long phaseStarted = started;
        long hopStarted = started;
        long resolveUs;
        long connectUs;
        long tlsUs;
        long requestSent;
        long firstByteUs;
        Channel channel;
        FamilyDialer.Outcome<NettyDialer.Connection> dial;
        String tlsVersion = "";
        HttpResponse response;
        final ByteArrayOutputStream received = new ByteArrayOutputStream();
        boolean truncated;

        Run(Check check, URI original, long deadlineNanos) {
            this.check = check;
            this.p = check.getHttp();
            this.original = original;
            this.deadlineNanos = deadlineNanos;
            this.method = HttpMethod.valueOf(p.getMethod().isBlank() ? "GET" : p.getMethod().toUpperCase(Locale.ROOT));
            this.body = p.getBody().getBytes(StandardCharsets.UTF_8);
        }

        void start(URI first) {
            deadlineTask = loop.schedule(this::onDeadline, Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
            startHop(first);
        }

        void startHop(URI hopUrl) {
            url = hopUrl;
            phase = Phase.RESOLVE;
            hopStarted = System.nanoTime();
            phaseStarted = hopStarted;
            resolveUs = connectUs = tlsUs = firstByteUs = 0;
            dial = null;
            channel = null;
            response = null;
            received.reset();
            truncated = false;
            tlsVersion = "";
            SslContext ssl = null;
            if (scheme(url).equals("https")) {
                try {
                    ssl = contexts.context(new TlsContexts.Trust(p.getCaPem(), p.getInsecureSkipVerify()));
                } catch (GeneralSecurityException e) {
                    finish(new ProbeResult(ProbeStatus.ERROR, FailureCode.INTERNAL, "http.ca_pem: " + e.getMessage(),
                            timings(), "", Family.FAMILY_ANY, Map.of()));
                    return;
                }
            }
            String host = hostOf(url);
            int port = portOf(url);
            // connect_to pins the original host:port only, as curl --resolve does; a redirect elsewhere resolves.
            boolean pinned = !p.getConnectTo().isBlank() && host.equalsIgnoreCase(hostOf(original)) && port == portOf(original);
            String connectTo = pinned ? p.getConnectTo() : "";
            int dialPort = DialTargets.connectPort(connectTo, port);
            SslContext sslContext = ssl;
            DialTargets.addresses(env.resolver(), host, connectTo, check.getFamily(), deadlineNanos)
                    .whenComplete((addrs, err) -> loop.execute(() -> resolved(addrs, err, host, port, dialPort, sslContext)));
        }

        void resolved(List<InetAddress> addrs, Throwable err, String host, int port, int dialPort, SslContext ssl) {
            if (result.isDone()) {
                return;
            }
            resolveUs = micros(System.nanoTime() - hopStarted);
            if (err != null) {
                ProbeResult r = DialTargets.resolveFailure(host, err, timings());
                finish(new ProbeResult(r.status(), r.failure(), hopPrefix() + r.detail(), r.timings(), r.address(),
                        r.family(), hopAttributes(new LinkedHashMap<>())));
                return;
            }
            phase = Phase.CONNECT;
            phaseStarted = System.nanoTime();
            dialer.dial(loop, addrs, dialPort, check.getFamily(), new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                    if (ssl != null) {
                        SslHandler h = ssl.newHandler(ch.alloc(), host, port);
                        // The run's deadline bounds the handshake; SslHandler's own 10 s default must not cut in.
                        h.setHandshakeTimeoutMillis(0);
                        ch.pipeline().addLast(h);
                    }
                    ch.pipeline().addLast(new FirstByte(), new HttpClientCodec(DECODER, false, false), new ResponseReader());
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
                ProbeResult r = outcome.toResult(timings(), "");
                finish(new ProbeResult(r.status(), r.failure(), hopPrefix() + r.detail(), r.timings(), r.address(),
                        r.family(), hopAttributes(new LinkedHashMap<>(r.attributes()))));
                return;
            }
            dial = outcome;
            channel = outcome.value().channel();
            if (result.isDone()) {
                channel.close();
                return;
            }
            connectUs = micros(outcome.value().connectNanos());
            phaseStarted = System.nanoTime();
            SslHandler ssl = channel.pipeline().get(SslHandler.class);
            if (ssl == null) {
                sendRequest();
                return;
            }
            phase = Phase.TLS;
            Channel ch = channel;
            ssl.handshakeFuture().addListener(hf -> {
                if (ch != channel || result.isDone()) {
                    return;
                }
                if (!hf.isSuccess()) {
                    tlsFailed(hf.cause());
                    return;
                }
                tlsUs = micros(System.nanoTime() - phaseStarted);
                tlsVersion = ssl.engine().getSession().getProtocol();
                contexts.forget(ssl.engine());
                sendRequest();
            });
        }

        void tlsFailed(Throwable cause) {
            tlsUs = micros(System.nanoTime() - phaseStarted);
            SslHandler ssl = channel == null ? null : channel.pipeline().get(SslHandler.class);
            if (ssl != null) {
                contexts.forget(ssl.engine());
            }
            TlsContexts.Classified c = TlsContexts.classifyHandshake(cause);
            failHere(c.code(), c.detail());
        }

        void sendRequest() {
            phase = Phase.REQUEST;
            phaseStarted = System.nanoTime();
            String path = url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath();
            if (url.getRawQuery() != null) {
                path = path + "?" + url.getRawQuery();
            }
            ByteBuf content = body.length == 0 ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body);
            DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, path, content);
            HttpHeaders h = req.headers();
            h.set(HttpHeaderNames.HOST, hostHeader(url));
            h.set(HttpHeaderNames.USER_AGENT, USER_AGENT);
            h.set(HttpHeaderNames.ACCEPT, "*/*");
            if (body.length > 0 || method.equals(HttpMethod.POST) || method.equals(HttpMethod.PUT)) {
                h.set(HttpHeaderNames.CONTENT_LENGTH, body.length);
            }
            p.getHeadersMap().forEach(h::set);
            // One request per connection, and the server told so: no pooling to hide a fresh-connection fault.
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            Channel ch = channel;
            ch.writeAndFlush(req).addListener(f -> {
                if (ch != channel || result.isDone()) {
                    return;
                }
                if (!f.isSuccess()) {
                    if (f.cause() instanceof ClosedChannelException) {
                        // The server closed first (say, right after accepting), possibly before this run
                        // took the channel over from the dialer: its close is the finding, not our write.
                        failHere(FailureCode.HTTP_PROTOCOL,
                                "connection closed by the server before any response (the request could not be sent)");
                    } else {
                        failHere(FailureCode.HTTP_PROTOCOL, "sending the request failed: " + f.cause());
                    }
                    return;
                }
                if (phase == Phase.REQUEST) {
                    phase = Phase.AWAIT_RESPONSE;
                    requestSent = System.nanoTime();
                    phaseStarted = requestSent;
                }
            });
        }

        void firstByte() {
            if (firstByteUs == 0 && (phase == Phase.AWAIT_RESPONSE || phase == Phase.REQUEST)) {
                long sent = requestSent == 0 ? phaseStarted : requestSent;
                firstByteUs = Math.max(1, micros(System.nanoTime() - sent));
            }
        }

        void onResponse(HttpResponse r) {
            if (!r.decoderResult().isSuccess()) {
                failHere(FailureCode.HTTP_PROTOCOL, "malformed HTTP response: " + r.decoderResult().cause());
                return;
            }
            response = r;
            phase = Phase.BODY;
            phaseStarted = System.nanoTime();
        }

        void onContent(HttpContent c) {
            if (response == null) {
                return;
            }
            if (!c.decoderResult().isSuccess()) {
                failHere(FailureCode.HTTP_PROTOCOL, "response body cut short: " + c.decoderResult().cause());
                return;
            }
            ByteBuf b = c.content();
            int room = MAX_BODY_BYTES - received.size();
            int n = Math.min(room, b.readableBytes());
            if (n > 0) {
                byte[] chunk = new byte[n];
                b.getBytes(b.readerIndex(), chunk);
                received.write(chunk, 0, n);
            }
            if (b.readableBytes() > room) {
                truncated = true;
                complete();
            } else if (c instanceof LastHttpContent) {
                complete();
            }
        }

        void onException(Throwable cause) {
            if (result.isDone()) {
                return;
            }
            if (phase == Phase.TLS) {
                tlsFailed(cause);
                return;
            }
            failHere(FailureCode.HTTP_PROTOCOL, "connection failed " + phaseWords() + ": " + rootMessage(cause));
        }

        void onClosed() {
            if (result.isDone()) {
                return;
            }
            if (phase == Phase.TLS) {
                failHere(FailureCode.TLS_HANDSHAKE, "TLS handshake failed: connection closed by the server");
            } else if (phase == Phase.BODY && response != null) {
                // A close-delimited body ends with the connection.
                complete();
            } else {
                failHere(FailureCode.HTTP_PROTOCOL, "connection closed by the server " + phaseWords());
            }
        }

        String phaseWords() {
            return switch (phase) {
                case REQUEST -> "while sending the request";
                case AWAIT_RESPONSE -> "before any response";
                case BODY -> "during the response body";
                default -> "during " + phase.name().toLowerCase(Locale.ROOT);
            };
        }

        /** The whole response (or its first 64 KiB) is in: judge it, or follow its redirect. */
        void complete() {
            HttpResponse r = response;
            int status = r.status().code();
            HttpHeaders headers = r.headers();
            String text = new String(received.toByteArray(), StandardCharsets.UTF_8);
            if (p.getFollowRedirects() && HttpVerdicts.redirect(status) && headers.contains(HttpHeaderNames.LOCATION)) {
                followRedirect(status, headers.get(HttpHeaderNames.LOCATION));
                return;
            }
            Map<String, String> attrs = new LinkedHashMap<>();
            attrs.put("http_status", Integer.toString(status));
            putIfPresent(attrs, "server", headers.get(HttpHeaderNames.SERVER));
            putIfPresent(attrs, "cf_ray", headers.get("cf-ray"));
            Optional<String> cfError = HttpVerdicts.cfError(text);
            cfError.ifPresent(e -> attrs.put("cf_error", e));
            if (truncated) {
                attrs.put("body_truncated", "true");
            }
            if (HttpVerdicts.expected(status, p.getExpectStatusList())) {
                Pattern expectBody;
                try {
                    expectBody = p.getExpectBodyRegex().isEmpty() ? null : Pattern.compile(p.getExpectBodyRegex());
                } catch (PatternSyntaxException e) {
                    finish(new ProbeResult(ProbeStatus.ERROR, FailureCode.INTERNAL, "http.expect_body_regex: " + e.getDescription(),
                            timings(), address(), family(), Map.of()));
                    return;
                }
                if (expectBody != null && !expectBody.matcher(text).find()) {
                    failHere(FailureCode.BODY_MISMATCH, "HTTP " + status + " but the body"
                            + (truncated ? " (first 64 KiB)" : "") + " does not match /" + p.getExpectBodyRegex() + "/", attrs);
                    return;
                }
                String detail = "HTTP " + status + " " + r.status().reasonPhrase();
                if (dial.status() == ProbeStatus.DEGRADED) {
                    finish(new ProbeResult(ProbeStatus.DEGRADED, dial.failure(), hopPrefix() + detail + " after " + dial.detail(),
                            timings(), address(), family(), hopAttributes(attrs)));
                } else {
                    finish(ProbeResult.ok(hopPrefix() + detail, timings(), address(), family(), hopAttributes(attrs)));
                }
                return;
            }
            FailureCode code = HttpVerdicts.unexpected(status, headers, text);
            if (code == FailureCode.HTTP_RATE_LIMITED) {
                HttpVerdicts.retryAfterSeconds(headers.get(HttpHeaderNames.RETRY_AFTER), clock.instant())
                        .ifPresent(s -> attrs.put("retry_after", Long.toString(s)));
            }
            failHere(code, HttpVerdicts.explain(code, status, cfError), attrs);
        }

        void followRedirect(int status, String location) {
            URI next;
            try {
                next = url.resolve(new URI(location.trim()));
            } catch (URISyntaxException | IllegalArgumentException e) {
                failHere(FailureCode.HTTP_STATUS, "HTTP " + status + " redirect to an invalid Location \"" + location + "\"");
                return;
            }
            if (scheme(next).isEmpty() || next.getHost() == null) {
                failHere(FailureCode.HTTP_STATUS, "HTTP " + status + " redirect to unsupported " + next);
                return;
            }
            if (hop >= MAX_REDIRECTS) {
                failHere(FailureCode.HTTP_STATUS, "more than " + MAX_REDIRECTS + " redirects (last to " + next + ")");
                return;
            }
            channel.close();
            hop++;
            // As browsers do: 303 always, and 301/302 after a POST, repeat as GET without the body.
            if (status == 303 || ((status == 301 || status == 302) && method.equals(HttpMethod.POST))) {
                if (!method.equals(HttpMethod.HEAD)) {
                    method = HttpMethod.GET;
                }
                body = new byte[0];
            }
            startHop(next);
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
            String detail = switch (phase) {
                case RESOLVE -> hostOf(url) + " not resolved within " + ms + " ms";
                case CONNECT -> "not connected within " + ms + " ms";
                case TLS -> "TLS handshake not finished within " + ms + " ms after connect";
                case REQUEST -> "request not sent within " + ms + " ms after connect";
                case AWAIT_RESPONSE -> "no response within " + ms + " ms after the request was sent";
                case BODY -> "response body not complete within " + ms + " ms after the headers";
            };
            Map<String, String> attrs = new LinkedHashMap<>();
            if (response != null) {
                attrs.put("http_status", Integer.toString(response.status().code()));
            }
            failHere(phase == Phase.RESOLVE ? FailureCode.DNS_TIMEOUT : FailureCode.TIMEOUT, detail, attrs);
        }

        void failHere(FailureCode code, String detail) {
            failHere(code, detail, new LinkedHashMap<>());
        }

        void failHere(FailureCode code, String detail, Map<String, String> attrs) {
            String d = hopPrefix() + detail;
            if (dial != null && dial.status() == ProbeStatus.DEGRADED) {
                d = d + "; " + dial.detail();
            }
            finish(ProbeResult.fail(code, d, timings(), address(), family(), hopAttributes(attrs)));
        }

        String hopPrefix() {
            return hop == 0 ? "" : "after " + hop + " redirect" + (hop == 1 ? "" : "s") + " to " + url + ": ";
        }

        Map<String, String> hopAttributes(Map<String, String> attrs) {
            Map<String, String> all = new LinkedHashMap<>();
            if (dial != null) {
                all.putAll(dial.attributes());
            }
            all.putAll(attrs);
            if (hop > 0) {
                all.put("redirects", Integer.toString(hop));
                all.put("final_url", url.toString());
            }
            if (!tlsVersion.isEmpty()) {
                all.put("tls_version", tlsVersion);
            }
            return all;
        }

        PhaseTimings timings() {
            return new PhaseTimings(resolveUs, connectUs, tlsUs, firstByteUs, micros(System.nanoTime() - started));
        }

        String address() {
            return dial == null ? "" : dial.address().getHostAddress();
        }

        Family family() {
            return dial == null ? Family.FAMILY_ANY : dial.family();
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

        /** Marks the first response byte; sits between TLS and the HTTP codec. */
        final class FirstByte extends ChannelInboundHandlerAdapter {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (ctx.channel() == channel) {
                    firstByte();
                }
                ctx.fireChannelRead(msg);
            }
        }

        /** Feeds decoded response parts to the run; events of a channel the run has left are dropped. */
        final class ResponseReader extends SimpleChannelInboundHandler<HttpObject> {
            @Override
            protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
                if (ctx.channel() != channel || result.isDone()) {
                    return;
                }
                if (msg instanceof HttpResponse r) {
                    onResponse(r);
                }
                if (msg instanceof HttpContent c && !result.isDone() && ctx.channel() == channel) {
                    onContent(c);
                }
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                if (ctx.channel() == channel) {
                    onException(cause);
                }
                ctx.close();
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) throws Exception {
                if (ctx.channel() == channel) {
                    onClosed();
                }
                super.channelInactive(ctx);
            }
        }
    }

    private static String hostHeader(URI u) {
        String host = hostOf(u);
        String h = host.contains(":") ? "[" + host + "]" : host;
        int port = portOf(u);
        boolean defaultPort = (scheme(u).equals("https") && port == 443) || (scheme(u).equals("http") && port == 80);
        return defaultPort ? h : h + ":" + port;
    }

    private static void putIfPresent(Map<String, String> m, String key, String value) {
        if (value != null && !value.isBlank()) {
            m.put(key, value);
        }
    }

    private static String rootMessage(Throwable t) {
        Throwable r = t;
        while (r.getCause() != null && r.getCause() != r) {
            r = r.getCause();
        }
        return r.getClass().getSimpleName() + (r.getMessage() == null ? "" : ": " + r.getMessage());
    }

    private static long micros(long nanos) {
        return TimeUnit.NANOSECONDS.toMicros(nanos);
    }
}
