import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Function;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A deliberately small HTTP/1.x server on blocking sockets (plain or TLS): one request per
 * connection, bounded threads and timeouts everywhere. The JDK's HttpsServer stalls TLS 1.3
 * handshakes after the first connection here, and the lab must answer every probe. Shared by the
 * lab's origin (LabOrigin) and CDN edge (EdgeEmulator); lab.sh compiles the three files together.
 */
final class MiniHttp implements AutoCloseable {
    /** A request as the lab servers see it. */
    record Request(InetAddress client, String method, String target, Map<String, String> headers) {
    }

    /** A complete response; the connection always closes after it (HTTP/1.1, Connection: close). */
    record Response(int status, Map<String, String> headers, byte[] body) {
    }

    /** A server-side TLS context from a PKCS#12 key store (the lab CA issued its certificate). */
    static SSLContext sslContext(Path keystore, char[] password) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            ks.load(in, password);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, password);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }

    private static final int MAX_HEADER_BYTES = 16 * 1024;
    private final ExecutorService pool = Executors.newFixedThreadPool(32);
    private final List<ServerSocket> sockets = new ArrayList<>();
    private final Function<Request, Response> handler;

    MiniHttp(Function<Request, Response> handler) {
        this.handler = handler;
    }

    void listen(InetAddress address, int port, SSLContext tls) throws IOException {
        ServerSocket ss = tls == null ? new ServerSocket() : tls.getServerSocketFactory().createServerSocket();
        ss.setReuseAddress(true);
        ss.bind(new InetSocketAddress(address, port), 128);
        sockets.add(ss);
        Thread acceptor = new Thread(() -> acceptLoop(ss), "accept-" + address.getHostAddress() + "-" + port);
        acceptor.setDaemon(false);
        acceptor.start();
    }

    private void acceptLoop(ServerSocket ss) {
        while (!ss.isClosed()) {
            try {
                Socket s = ss.accept();
                try {
                    pool.execute(() -> serve(s));
                } catch (RejectedExecutionException e) {
                    s.close();
                }
            } catch (IOException e) {
                if (!ss.isClosed()) {
                    System.err.println(Instant.now() + " accept failed: " + e);
                }
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            s.setSoTimeout(5_000);
            if (s instanceof SSLSocket tls) {
                tls.startHandshake();
            }
            InputStream in = new BufferedInputStream(s.getInputStream());
            String requestLine = readLine(in);
            if (requestLine == null || requestLine.isEmpty()) {
                return;
            }
            Map<String, String> headers = new LinkedHashMap<>();
            int total = requestLine.length();
            String line;
            while ((line = readLine(in)) != null && !line.isEmpty()) {
                total += line.length();
                if (total > MAX_HEADER_BYTES) {
                    write(s, new Response(431, Map.of(), new byte[0]), false);
                    return;
                }
                int colon = line.indexOf(':');
                if (colon > 0) {
                    headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
                }
            }
            String[] parts = requestLine.split(" ");
            if (parts.length != 3 || !parts[2].startsWith("HTTP/1.")) {
                write(s, new Response(400, Map.of(), "bad request\n".getBytes(StandardCharsets.UTF_8)), false);
                return;
            }
            Response r = handler.apply(new Request(s.getInetAddress(), parts[0], parts[1], headers));
            write(s, r, parts[0].equalsIgnoreCase("HEAD"));
        } catch (IOException | RuntimeException e) {
            // A client that goes away or fails its handshake is the client's business.
        }
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                int n = sb.length();
                return n > 0 && sb.charAt(n - 1) == '\r' ? sb.substring(0, n - 1) : sb.toString();
            }
            if (sb.length() > MAX_HEADER_BYTES) {
                throw new IOException("header line too long");
            }
            sb.append((char) c);
        }
        return sb.length() == 0 ? null : sb.toString();
    }

    private static void write(Socket s, Response r, boolean headOnly) throws IOException {
        StringBuilder head = new StringBuilder("HTTP/1.1 ").append(r.status()).append(' ')
                .append(reason(r.status())).append("\r\n");
        r.headers().forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
        head.append("Content-Length: ").append(r.body().length).append("\r\nConnection: close\r\n\r\n");
        OutputStream out = s.getOutputStream();
        out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
        if (!headOnly) {
            out.write(r.body());
        }
        out.flush();
    }

    private static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 400 -> "Bad Request";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 431 -> "Request Header Fields Too Large";
            case 502 -> "Bad Gateway";
            default -> status >= 520 ? "Origin Error" : "Status";
        };
    }

    @Override
    public void close() {
        for (ServerSocket ss : sockets) {
            try {
                ss.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        pool.shutdownNow();
    }
}
