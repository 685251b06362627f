import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;

/**
 * The lab's web origin ({@code origin.example.test}, and what {@code home.example.test} and
 * {@code nas.example.test} lead to): HTTP and HTTPS on each bound address; {@code /health} and
 * {@code /} answer 200, anything else 404. JDK classes only, compiled with the lab's shared server
 * (http/MiniHttp.java) by lab.sh:
 *
 * <pre>javac -d out deploy/lab/origin/LabOrigin.java deploy/lab/http/MiniHttp.java
 * java -cp out LabOrigin --bind 203.0.113.10 --bind 2001:db8:113::10 \
 *     --keystore origin.p12 --password secret [--http-port 80] [--https-port 443]</pre>
 */
public final class LabOrigin {

    record Config(List<InetAddress> binds, int httpPort, int httpsPort, Path keystore, char[] password) {
    }

    public static void main(String[] args) throws Exception {
        Config cfg = parse(args);
        SSLContext tls = MiniHttp.sslContext(cfg.keystore(), cfg.password());
        MiniHttp server = new MiniHttp(LabOrigin::handle);
        for (InetAddress a : cfg.binds()) {
            server.listen(a, cfg.httpPort(), null);
            server.listen(a, cfg.httpsPort(), tls);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(server::close));
        System.out.println(Instant.now() + " origin listening on " + cfg.binds() + " ports " + cfg.httpPort()
                + "/" + cfg.httpsPort());
    }

    static MiniHttp.Response handle(MiniHttp.Request req) {
        String path = req.target().split("\\?", 2)[0];
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Server", "probemesh-lab-origin");
        h.put("Cache-Control", "no-store");
        int status;
        String body;
        if (path.equals("/health")) {
            status = 200;
            body = "ok\n";
            h.put("Content-Type", "text/plain; charset=utf-8");
        } else if (path.equals("/")) {
            status = 200;
            body = "<!doctype html><title>probemesh lab origin</title><p>Hello from the lab origin.</p>\n";
            h.put("Content-Type", "text/html; charset=utf-8");
        } else {
            status = 404;
            body = "not found\n";
            h.put("Content-Type", "text/plain; charset=utf-8");
        }
        return new MiniHttp.Response(status, h, body.getBytes(StandardCharsets.UTF_8));
    }

    private static Config parse(String[] args) throws IOException {
        List<InetAddress> binds = new ArrayList<>();
        int httpPort = 80;
        int httpsPort = 443;
        Path keystore = null;
        char[] password = null;
        for (int i = 0; i < args.length; i++) {
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--bind" -> binds.add(InetAddress.getByName(need(args[i], v)));
                case "--http-port" -> httpPort = Integer.parseInt(need(args[i], v));
                case "--https-port" -> httpsPort = Integer.parseInt(need(args[i], v));
                case "--keystore" -> keystore = Path.of(need(args[i], v));
                case "--password" -> password = need(args[i], v).toCharArray();
                default -> usage("unknown option " + args[i]);
            }
            i++;
        }
        if (binds.isEmpty() || keystore == null || password == null) {
            usage("--bind, --keystore and --password are required");
        }
        return new Config(List.copyOf(binds), httpPort, httpsPort, keystore, password);
    }

    private static String need(String opt, String v) {
        if (v == null) {
            usage(opt + " needs a value");
        }
        return v;
    }

    private static void usage(String why) {
        System.err.println("LabOrigin: " + why + "\nusage: LabOrigin --bind ADDR [--bind ADDR]... --keystore P12"
                + " --password PASS [--http-port 80] [--https-port 443]");
        System.exit(2);
    }
}
