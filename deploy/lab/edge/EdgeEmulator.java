import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import javax.naming.Context;
import javax.naming.NamingEnumeration;
import javax.naming.NamingException;
import javax.naming.directory.Attribute;
import javax.naming.directory.Attributes;
import javax.naming.directory.DirContext;
import javax.naming.directory.InitialDirContext;
import javax.net.ssl.SSLContext;

/**
 * The lab's CDN edge: answers like a CDN in front of {@code home.example.test}, so the probes
 * meet the CDN's own error pages. For every request (nothing is cached) it
 * <ol>
 * <li>answers 403 with {@code cf-mitigated: challenge} and a "Just a moment..." page when the
 * client's address is in WAF mode (one address a line in the WAF file, re-read per request);</li>
 * <li>resolves the origin name through the lab resolver (JNDI DNS, 1 s, one try, CNAMEs followed):
 * no address means 530 {@code error code: 1016};</li>
 * <li>fetches {@code http://<origin address>/<path>} with a 1 s connect and read timeout: refused
 * means 521, a connect timeout 522, no route 523, no answer in time 524; otherwise it relays the
 * origin's status and body.</li>
 * </ol>
 * JDK classes only, compiled with the lab's shared server (http/MiniHttp.java) by lab.sh:
 *
 * <pre>javac -d out deploy/lab/edge/EdgeEmulator.java deploy/lab/http/MiniHttp.java
 * java -cp out EdgeEmulator --bind 203.0.113.80 --bind 2001:db8:113::80 \
 *     --keystore edge.p12 --password secret --origin-name home.example.test \
 *     --resolver 198.51.100.53 --waf-file waf-clients [--http-port 80] [--https-port 443]</pre>
 */
public final class EdgeEmulator {
    private static final int TIMEOUT_MS = 1000;
    private static final int MAX_CNAME_HOPS = 8;
    private static final int MAX_BODY = 1 << 20;

    record Config(List<InetAddress> binds, int httpPort, int httpsPort, Path keystore, char[] password,
                  String originName, String resolver, Path wafFile) {
    }

    /** What the edge answers. */
    record Reply(int status, String contentType, byte[] body, String detail) {
        static Reply text(int status, String body, String detail) {
            return new Reply(status, "text/plain; charset=utf-8", body.getBytes(StandardCharsets.UTF_8), detail);
        }
    }

    private final Config cfg;
    private final SecureRandom random = new SecureRandom();

    EdgeEmulator(Config cfg) {
        this.cfg = cfg;
    }

    public static void main(String[] args) throws Exception {
        Config cfg = parse(args);
        EdgeEmulator edge = new EdgeEmulator(cfg);
        SSLContext tls = MiniHttp.sslContext(cfg.keystore(), cfg.password());
        MiniHttp server = new MiniHttp(edge::handle);
        for (InetAddress a : cfg.binds()) {
            server.listen(a, cfg.httpPort(), null);
            server.listen(a, cfg.httpsPort(), tls);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(server::close));
        System.out.println(Instant.now() + " edge listening on " + cfg.binds() + " ports " + cfg.httpPort() + "/"
                + cfg.httpsPort() + ", fronting " + cfg.originName() + " via resolver " + cfg.resolver());
    }

    MiniHttp.Response handle(MiniHttp.Request req) {
        String client = req.client().getHostAddress();
        String ray = HexFormat.of().formatHex(nextRay()) + "-LAB";
        Reply reply = answer(client, req.target(), ray);
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Server", "cloudflare");
        h.put("cf-ray", ray);
        h.put("Content-Type", reply.contentType());
        h.put("Cache-Control", "no-store");
        if (reply.status() == 403) {
            h.put("cf-mitigated", "challenge");
        }
        System.out.println(Instant.now() + " " + client + " " + req.method() + " " + req.target() + " -> "
                + reply.status() + " " + reply.detail() + " ray=" + ray);
        return new MiniHttp.Response(reply.status(), h, reply.body());
    }

    private byte[] nextRay() {
        byte[] b = new byte[8];
        random.nextBytes(b);
        return b;
    }

    Reply answer(String client, String pathAndQuery, String ray) {
        if (wafClients().contains(normalize(client))) {
            return new Reply(403, "text/html; charset=UTF-8", challengePage(ray).getBytes(StandardCharsets.UTF_8),
                    "waf challenge");
        }
        List<InetAddress> addresses;
        try {
            addresses = resolve(cfg.originName());
        } catch (NamingException e) {
            return Reply.text(530, "error code: 1016\n", "origin dns error: " + e);
        }
        if (addresses.isEmpty()) {
            return Reply.text(530, "error code: 1016\n", "origin dns error: no address for " + cfg.originName());
        }
        return fetch(addresses.get(0), pathAndQuery);
    }

    /** Resolves A records (CNAMEs followed), asking the lab resolver each time: no cache. */
    List<InetAddress> resolve(String name) throws NamingException {
        Hashtable<String, String> env = new Hashtable<>();
        env.put(Context.INITIAL_CONTEXT_FACTORY, "com.sun.jndi.dns.DnsContextFactory");
        env.put(Context.PROVIDER_URL, "dns://" + cfg.resolver());
        env.put("com.sun.jndi.dns.timeout.initial", String.valueOf(TIMEOUT_MS));
        env.put("com.sun.jndi.dns.timeout.retries", "1");
        DirContext ctx = new InitialDirContext(env);
        try {
            String current = name;
            for (int hop = 0; hop < MAX_CNAME_HOPS; hop++) {
                Attributes attrs = ctx.getAttributes(current, new String[] {"A", "CNAME"});
                List<InetAddress> out = new ArrayList<>();
                Attribute a = attrs.get("A");
                if (a != null) {
                    NamingEnumeration<?> values = a.getAll();
                    while (values.hasMore()) {
                        out.add(literal(values.next().toString()));
                    }
                    return out;
                }
                Attribute cname = attrs.get("CNAME");
                if (cname == null || cname.size() == 0) {
                    return List.of();
                }
                current = cname.get().toString();
            }
            return List.of();
        } finally {
            ctx.close();
        }
    }

    private static InetAddress literal(String ip) throws NamingException {
        try {
            return InetAddress.getByName(ip.trim());   // a literal: no lookup happens
        } catch (UnknownHostException e) {
            NamingException ne = new NamingException("bad address " + ip);
            ne.setRootCause(e);
            throw ne;
        }
    }

    /** One HTTP/1.0 GET to the origin by address (Host: the origin name), 1 s to connect and to answer. */
    Reply fetch(InetAddress origin, String pathAndQuery) {
        try (Socket s = new Socket()) {
            try {
                s.connect(new InetSocketAddress(origin, 80), TIMEOUT_MS);
            } catch (ConnectException e) {
                return Reply.text(521, "error code: 521\n", "origin " + origin.getHostAddress() + " refused: " + e.getMessage());
            } catch (SocketTimeoutException e) {
                return Reply.text(522, "error code: 522\n", "origin " + origin.getHostAddress() + " connect timed out");
            } catch (NoRouteToHostException e) {
                return Reply.text(523, "error code: 523\n", "origin " + origin.getHostAddress() + " unreachable");
            }
            s.setSoTimeout(TIMEOUT_MS);
            String request = "GET " + (pathAndQuery.startsWith("/") ? pathAndQuery : "/") + " HTTP/1.0\r\nHost: "
                    + cfg.originName() + "\r\nUser-Agent: probemesh-lab-edge\r\nConnection: close\r\n\r\n";
            s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            byte[] raw = readAll(s.getInputStream());
            return parseResponse(raw);
        } catch (SocketTimeoutException e) {
            return Reply.text(524, "error code: 524\n", "origin did not answer in time");
        } catch (IOException e) {
            return Reply.text(523, "error code: 523\n", "origin unreachable: " + e);
        }
    }

    private static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        while ((n = in.read(buf)) >= 0 && out.size() < MAX_BODY) {
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    private static Reply parseResponse(byte[] raw) {
        String text = new String(raw, StandardCharsets.ISO_8859_1);
        int end = text.indexOf("\r\n\r\n");
        if (!text.startsWith("HTTP/") || end < 0) {
            return Reply.text(502, "error code: 502\n", "origin sent no valid HTTP response");
        }
        String[] lines = text.substring(0, end).split("\r\n");
        String[] statusLine = lines[0].split(" ", 3);
        int status;
        try {
            status = Integer.parseInt(statusLine[1]);
        } catch (RuntimeException e) {
            return Reply.text(502, "error code: 502\n", "origin sent a bad status line");
        }
        String type = "application/octet-stream";
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0 && lines[i].substring(0, colon).trim().equalsIgnoreCase("content-type")) {
                type = lines[i].substring(colon + 1).trim();
            }
        }
        byte[] body = java.util.Arrays.copyOfRange(raw, end + 4, raw.length);
        return new Reply(status, type, body, "relayed from origin");
    }

    private Set<String> wafClients() {
        try {
            return Files.readAllLines(cfg.wafFile(), StandardCharsets.UTF_8).stream()
                    .map(String::trim)
                    .filter(l -> !l.isEmpty() && !l.startsWith("#"))
                    .map(EdgeEmulator::normalize)
                    .collect(Collectors.toSet());
        } catch (NoSuchFileException e) {
            return Set.of();
        } catch (IOException e) {
            System.err.println(Instant.now() + " cannot read " + cfg.wafFile() + ": " + e);
            return Set.of();
        }
    }

    /** The same address always compares equal (2001:db8:3::10 vs 2001:db8:3:0:0:0:0:10). */
    private static String normalize(String address) {
        String a = address.toLowerCase(Locale.ROOT);
        if (a.startsWith("[") && a.endsWith("]")) {
            a = a.substring(1, a.length() - 1);
        }
        int zone = a.indexOf('%');
        if (zone >= 0) {
            a = a.substring(0, zone);
        }
        if (!a.matches("[0-9a-f:.]+")) {
            return a;
        }
        try {
            return InetAddress.getByName(a).getHostAddress();   // a literal: no lookup happens
        } catch (UnknownHostException e) {
            return a;
        }
    }

    private static String challengePage(String ray) {
        return "<!DOCTYPE html><html lang=\"en-US\"><head><title>Just a moment...</title>"
                + "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\"></head><body>"
                + "<div class=\"main-wrapper\" role=\"main\"><h1>Just a moment...</h1>"
                + "<p>Checking if the site connection is secure. Enable JavaScript and cookies to continue.</p>"
                + "<p>Ray ID: " + ray + "</p></div></body></html>\n";
    }

    private static Config parse(String[] args) throws IOException {
        List<InetAddress> binds = new ArrayList<>();
        int httpPort = 80;
        int httpsPort = 443;
        Path keystore = null;
        char[] password = null;
        String originName = null;
        String resolver = null;
        Path waf = null;
        for (int i = 0; i < args.length; i++) {
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--bind" -> binds.add(InetAddress.getByName(need(args[i], v)));
                case "--http-port" -> httpPort = Integer.parseInt(need(args[i], v));
                case "--https-port" -> httpsPort = Integer.parseInt(need(args[i], v));
                case "--keystore" -> keystore = Path.of(need(args[i], v));
                case "--password" -> password = need(args[i], v).toCharArray();
                case "--origin-name" -> originName = need(args[i], v);
                case "--resolver" -> resolver = need(args[i], v);
                case "--waf-file" -> waf = Path.of(need(args[i], v));
                default -> usage("unknown option " + args[i]);
            }
            i++;
        }
        if (binds.isEmpty() || keystore == null || password == null || originName == null || resolver == null
                || waf == null) {
            usage("--bind, --keystore, --password, --origin-name, --resolver and --waf-file are required");
        }
        return new Config(List.copyOf(binds), httpPort, httpsPort, keystore, password, originName, resolver, waf);
    }

    private static String need(String opt, String v) {
        if (v == null) {
            usage(opt + " needs a value");
        }
        return v;
    }

    private static void usage(String why) {
        System.err.println("EdgeEmulator: " + why + "\nusage: EdgeEmulator --bind ADDR [--bind ADDR]... --keystore P12"
                + " --password PASS --origin-name NAME --resolver IP --waf-file FILE [--http-port 80] [--https-port 443]");
        System.exit(2);
    }
}
