package dev.probemesh.agent.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLSession;

/**
 * A real HTTP or HTTPS server on a loopback port chosen by the kernel (the JDK's own server), whose
 * answers come from a function of the request and which records every request it saw: method, path,
 * Host header, body and the SNI name the client sent.
 */
public final class TestHttpServer implements AutoCloseable {

    /** One request as the server saw it; {@code sni} is empty for plain HTTP or when none was sent. */
    public record Seen(String method, String path, String host, String sni, String body, Map<String, List<String>> headers) {
    }

    /** What to answer. */
    public record Reply(int status, Map<String, String> headers, String body) {
        public Reply {
            headers = Map.copyOf(headers);
            body = body == null ? "" : body;
        }

        public static Reply of(int status, String body) {
            return new Reply(status, Map.of(), body);
        }
    }

    private final HttpServer server;
    private final ExecutorService executor = Executors.newFixedThreadPool(2, r -> {
        Thread t = new Thread(r, "test-http-server");
        t.setDaemon(true);
        return t;
    });
    private final List<Seen> seen = new CopyOnWriteArrayList<>();

    private TestHttpServer(HttpServer server, Function<Seen, Reply> replies) {
        this.server = server;
        server.createContext("/", ex -> handle(ex, replies));
        server.setExecutor(executor);
        server.start();
    }

    /** A plain HTTP server on {@code bind} (127.0.0.1 or ::1). */
    public static TestHttpServer http(InetAddress bind, Function<Seen, Reply> replies) throws IOException {
        return new TestHttpServer(HttpServer.create(new InetSocketAddress(bind, 0), 16), replies);
    }

    /** An HTTPS server on {@code bind} presenting {@code cert}. */
    public static TestHttpServer https(InetAddress bind, TestCerts.Issued cert, Function<Seen, Reply> replies)
            throws IOException {
        HttpsServer s = HttpsServer.create(new InetSocketAddress(bind, 0), 16);
        s.setHttpsConfigurator(new HttpsConfigurator(cert.serverContext()));
        return new TestHttpServer(s, replies);
    }

    public int port() {
        return server.getAddress().getPort();
    }

    public List<Seen> seen() {
        return List.copyOf(seen);
    }

    private void handle(HttpExchange ex, Function<Seen, Reply> replies) throws IOException {
        try (ex) {
            String body;
            try (InputStream in = ex.getRequestBody()) {
                body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            String sni = "";
            if (ex instanceof HttpsExchange hx) {
                SSLSession session = hx.getSSLSession();
                if (session instanceof ExtendedSSLSession es) {
                    for (SNIServerName n : es.getRequestedServerNames()) {
                        if (n instanceof SNIHostName h) {
                            sni = h.getAsciiName();
                        }
                    }
                }
            }
            String host = Objects.requireNonNullElse(ex.getRequestHeaders().getFirst("Host"), "");
            Seen s = new Seen(ex.getRequestMethod(), ex.getRequestURI().toString(), host, sni, body,
                    Map.copyOf(ex.getRequestHeaders()));
            seen.add(s);
            Reply r = replies.apply(s);
            r.headers().forEach((k, v) -> ex.getResponseHeaders().add(k, v));
            byte[] bytes = r.body().getBytes(StandardCharsets.UTF_8);
            boolean noBody = bytes.length == 0 || "HEAD".equals(ex.getRequestMethod());
            ex.sendResponseHeaders(r.status(), noBody ? -1 : bytes.length);
            if (!noBody) {
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(bytes);
                }
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
