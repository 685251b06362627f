package dev.probemesh.common.check;

import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.DnsParams;
import dev.probemesh.proto.v1.DnsTraceParams;
import dev.probemesh.proto.v1.Family;
import dev.probemesh.proto.v1.HttpParams;
import dev.probemesh.proto.v1.IcmpParams;
import dev.probemesh.proto.v1.TcpParams;
import dev.probemesh.proto.v1.TlsParams;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Reads a checks file (YAML) into validated {@link Check}s. Every problem names the file, the
 * line, the check and the field:
 *
 * <pre>
 * defaults: {interval: 5s, timeout: 2s}
 * checks:
 *   - id: dns-origin-udp
 *     kind: dns
 *     target: origin.example.test
 *     family: ipv4
 *     dns: {resolver: 198.51.100.53, transport: udp, type: A}
 * </pre>
 */
public final class CheckFile {
    public static final long DEFAULT_INTERVAL_MS = 30_000;
    public static final long DEFAULT_TIMEOUT_MS = 5_000;
    private static final int MAX_FILE_BYTES = 4 << 20;

    private static final Set<String> TOP_KEYS = Set.of("defaults", "checks");
    private static final Set<String> DEFAULT_KEYS = Set.of("interval", "timeout", "family", "selector");
    private static final Set<String> CHECK_KEYS = Set.of("id", "kind", "target", "family", "interval", "timeout",
            "selector", "labels", "target-rate", "icmp", "tcp", "dns", "dns-trace", "http", "tls");

    private final String source;
    private final Path baseDir;
    private final List<String> problems = new ArrayList<>();

    private CheckFile(String source, Path baseDir) {
        this.source = source;
        this.baseDir = baseDir;
    }

    /** Parses and validates a file; relative {@code ca-file} paths resolve against its folder. */
    public static List<Check> read(Path file) throws CheckSpecException, IOException {
        if (Files.size(file) > MAX_FILE_BYTES) {
            throw new CheckSpecException(List.of(file + ": larger than 4 MiB; split it into several files"));
        }
        String text = Files.readString(file, StandardCharsets.UTF_8);
        Path dir = file.toAbsolutePath().getParent();
        return new CheckFile(file.toString(), dir).parse(new StringReader(text));
    }

    /** Parses and validates YAML text; {@code source} names it in messages. */
    public static List<Check> parse(String source, String yaml) throws CheckSpecException {
        return new CheckFile(source, Path.of(".")).parse(new StringReader(yaml));
    }

    private List<Check> parse(Reader reader) throws CheckSpecException {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        options.setMaxAliasesForCollections(10);
        Node root;
        try {
            root = new Yaml(options).compose(reader);
        } catch (MarkedYAMLException e) {
            throw new CheckSpecException(List.of(source + ":" + (e.getProblemMark().getLine() + 1) + ": not valid YAML: "
                    + e.getProblem()));
        } catch (RuntimeException e) {
            throw new CheckSpecException(List.of(source + ": not valid YAML: " + e.getMessage()));
        }
        if (root == null) {
            throw new CheckSpecException(List.of(source + ": is empty (expected a 'checks:' list)"));
        }
        if (!(root instanceof MappingNode top)) {
            throw new CheckSpecException(List.of(at(root) + "the top level must be a mapping with a 'checks:' list, not "
                    + (root instanceof SequenceNode ? "a list" : "a single value")));
        }
        Map<String, Node> topMap = fields(top, TOP_KEYS, "");
        Check.Builder defaults = Check.newBuilder()
                .setIntervalMs((int) DEFAULT_INTERVAL_MS)
                .setTimeoutMs((int) DEFAULT_TIMEOUT_MS)
                .setFamily(Family.FAMILY_ANY);
        Node defaultsNode = topMap.get("defaults");
        if (defaultsNode != null) {
            MappingNode dm = mapping(defaultsNode, "defaults");
            if (dm != null) {
                Map<String, Node> d = fields(dm, DEFAULT_KEYS, "defaults.");
                applyCommon(defaults, d, "defaults.");
            }
        }
        Node checksNode = topMap.get("checks");
        if (checksNode == null) {
            problems.add(at(top) + "checks: is required (a list of checks)");
            throw new CheckSpecException(problems);
        }
        if (!(checksNode instanceof SequenceNode seq)) {
            problems.add(at(checksNode) + "checks: must be a list (each entry starts with '- id: ...')");
            throw new CheckSpecException(problems);
        }
        List<Check> checks = new ArrayList<>();
        Map<String, Integer> firstLine = new HashMap<>();
        List<Node> entries = seq.getValue();
        for (int i = 0; i < entries.size(); i++) {
            Node n = entries.get(i);
            int before = problems.size();
            Check c = parseCheck(n, i, defaults);
            if (c == null) {
                continue;
            }
            MappingNode m = (MappingNode) n;
            String where = where(i, c.getId());
            // Semantic checks only when the YAML itself read cleanly: a field that failed to parse
            // holds a neutral value that would only add a second, misleading message.
            if (problems.size() == before) {
                for (CheckValidator.Problem p : CheckValidator.problems(c)) {
                    problems.add(source + ":" + fieldLine(m, p.field()) + ": " + where + p);
                }
            }
            if (!c.getId().isEmpty()) {
                int idLine = fieldLine(m, "id");
                Integer prev = firstLine.putIfAbsent(c.getId(), idLine);
                if (prev != null) {
                    problems.add(source + ":" + idLine + ": " + where + "id: duplicate id \"" + c.getId()
                            + "\" (first defined on line " + prev + ")");
                }
            }
            checks.add(c);
        }
        if (!problems.isEmpty()) {
            throw new CheckSpecException(problems);
        }
        return checks;
    }

    private Check parseCheck(Node n, int index, Check.Builder defaults) {
        MappingNode m = mapping(n, "checks[" + index + "]");
        if (m == null) {
            return null;
        }
        String where = where(index, peekId(m));
        Map<String, Node> f = fields(m, CHECK_KEYS, where);
        Check.Builder b = defaults.clone();
        b.setId(scalar(f.get("id"), where + "id"));
        b.setKind(scalar(f.get("kind"), where + "kind"));
        b.setTarget(scalar(f.get("target"), where + "target"));
        applyCommon(b, f, where);
        if (f.containsKey("labels")) {
            b.putAllLabels(stringMap(f.get("labels"), where + "labels"));
        }
        if (f.containsKey("target-rate")) {
            b.setTargetRatePerS(number(f.get("target-rate"), where + "target-rate"));
        }
        List<String> paramKeys = f.keySet().stream()
                .filter(k -> Set.of("icmp", "tcp", "dns", "dns-trace", "http", "tls").contains(k)).toList();
        if (paramKeys.size() > 1) {
            String second = paramKeys.get(1);
            problems.add(source + ":" + fieldLine(m, second) + ": " + where + second + ": is a second parameter block"
                    + " after " + paramKeys.get(0) + ": (a check has at most one, named like its kind)");
            return b.build();
        }
        for (String k : paramKeys) {
            parseParams(b, k, f.get(k), where + k + ".");
        }
        if (b.getParamsCase() == Check.ParamsCase.PARAMS_NOT_SET) {
            CheckKind.fromWire(b.getKind()).ifPresent(kind -> {
                switch (kind) {
                    case HTTP, HTTPS -> b.setHttp(HttpParams.getDefaultInstance());
                    case DNS -> b.setDns(DnsParams.newBuilder().setRecursionDesired(true));
                    default -> { }
                }
            });
        }
        return b.build();
    }

    private void applyCommon(Check.Builder b, Map<String, Node> f, String where) {
        if (f.containsKey("family")) {
            String fam = scalar(f.get("family"), where + "family");
            switch (fam.toLowerCase(Locale.ROOT)) {
                case "any" -> b.setFamily(Family.FAMILY_ANY);
                case "ipv4", "4", "inet" -> b.setFamily(Family.FAMILY_IPV4);
                case "ipv6", "6", "inet6" -> b.setFamily(Family.FAMILY_IPV6);
                default -> problems.add(at(f.get("family")) + where + "family: \"" + fam
                        + "\" is not one of any, ipv4, ipv6");
            }
        }
        if (f.containsKey("interval")) {
            b.setIntervalMs((int) duration(f.get("interval"), where + "interval"));
        }
        if (f.containsKey("timeout")) {
            b.setTimeoutMs((int) duration(f.get("timeout"), where + "timeout"));
        }
        if (f.containsKey("selector")) {
            b.clearSelector().putAllSelector(stringMap(f.get("selector"), where + "selector"));
        }
    }

    private void parseParams(Check.Builder b, String key, Node node, String where) {
        MappingNode m = mapping(node, where.substring(0, where.length() - 1));
        if (m == null) {
            return;
        }
        switch (key) {
            case "icmp" -> {
                Map<String, Node> f = fields(m, Set.of("count", "interval"), where);
                IcmpParams.Builder p = IcmpParams.newBuilder();
                if (f.containsKey("count")) {
                    p.setCount(uint(f.get("count"), where + "count"));
                }
                if (f.containsKey("interval")) {
                    p.setIntervalMs((int) duration(f.get("interval"), where + "interval"));
                }
                b.setIcmp(p);
            }
            case "tcp" -> {
                Map<String, Node> f = fields(m, Set.of("port", "tls", "server-name"), where);
                TcpParams.Builder p = TcpParams.newBuilder();
                if (f.containsKey("port")) {
                    p.setPort(uint(f.get("port"), where + "port"));
                }
                if (f.containsKey("tls")) {
                    p.setTls(bool(f.get("tls"), where + "tls"));
                }
                if (f.containsKey("server-name")) {
                    p.setServerName(scalar(f.get("server-name"), where + "server-name"));
                }
                b.setTcp(p);
            }
            case "dns" -> {
                Map<String, Node> f = fields(m, Set.of("resolver", "transport", "type", "expect-addresses",
                        "expect-regex", "expect-rcode", "port", "recursion"), where);
                DnsParams.Builder p = DnsParams.newBuilder().setRecursionDesired(true);
                if (f.containsKey("resolver")) {
                    p.setResolver(scalar(f.get("resolver"), where + "resolver"));
                }
                if (f.containsKey("transport")) {
                    p.setTransport(scalar(f.get("transport"), where + "transport").toLowerCase(Locale.ROOT));
                }
                if (f.containsKey("type")) {
                    p.setQtype(scalar(f.get("type"), where + "type").toUpperCase(Locale.ROOT));
                }
                if (f.containsKey("expect-addresses")) {
                    p.addAllExpectAddresses(stringList(f.get("expect-addresses"), where + "expect-addresses"));
                }
                if (f.containsKey("expect-regex")) {
                    p.setExpectRegex(scalar(f.get("expect-regex"), where + "expect-regex"));
                }
                if (f.containsKey("expect-rcode")) {
                    p.setExpectRcode(scalar(f.get("expect-rcode"), where + "expect-rcode").toUpperCase(Locale.ROOT));
                }
                if (f.containsKey("port")) {
                    p.setPort(uint(f.get("port"), where + "port"));
                }
                if (f.containsKey("recursion")) {
                    p.setRecursionDesired(bool(f.get("recursion"), where + "recursion"));
                }
                b.setDns(p);
            }
            case "dns-trace" -> {
                Map<String, Node> f = fields(m, Set.of("roots", "type"), where);
                DnsTraceParams.Builder p = DnsTraceParams.newBuilder();
                if (f.containsKey("roots")) {
                    p.addAllRootServers(stringList(f.get("roots"), where + "roots"));
                }
                if (f.containsKey("type")) {
                    p.setQtype(scalar(f.get("type"), where + "type").toUpperCase(Locale.ROOT));
                }
                b.setDnsTrace(p);
            }
            case "http" -> {
                Map<String, Node> f = fields(m, Set.of("method", "expect-status", "expect-body-regex", "headers",
                        "connect-to", "ca-file", "ca-pem", "insecure-skip-verify", "follow-redirects", "body"), where);
                HttpParams.Builder p = HttpParams.newBuilder();
                if (f.containsKey("method")) {
                    p.setMethod(scalar(f.get("method"), where + "method").toUpperCase(Locale.ROOT));
                }
                if (f.containsKey("expect-status")) {
                    Node s = f.get("expect-status");
                    List<String> codes = s instanceof SequenceNode
                            ? stringList(s, where + "expect-status") : List.of(scalar(s, where + "expect-status"));
                    for (String code : codes) {
                        try {
                            p.addExpectStatus(Integer.parseInt(code));
                        } catch (NumberFormatException e) {
                            problems.add(at(s) + where + "expect-status: \"" + code + "\" is not a number");
                        }
                    }
                }
                if (f.containsKey("expect-body-regex")) {
                    p.setExpectBodyRegex(scalar(f.get("expect-body-regex"), where + "expect-body-regex"));
                }
                if (f.containsKey("headers")) {
                    p.putAllHeaders(stringMap(f.get("headers"), where + "headers"));
                }
                if (f.containsKey("connect-to")) {
                    p.setConnectTo(scalar(f.get("connect-to"), where + "connect-to"));
                }
                p.setCaPem(caPem(f, where));
                if (f.containsKey("insecure-skip-verify")) {
                    p.setInsecureSkipVerify(bool(f.get("insecure-skip-verify"), where + "insecure-skip-verify"));
                }
                if (f.containsKey("follow-redirects")) {
                    p.setFollowRedirects(bool(f.get("follow-redirects"), where + "follow-redirects"));
                }
                if (f.containsKey("body")) {
                    p.setBody(scalar(f.get("body"), where + "body"));
                }
                b.setHttp(p);
            }
            case "tls" -> {
                Map<String, Node> f = fields(m, Set.of("port", "server-name", "ca-file", "ca-pem", "warn-days",
                        "connect-to"), where);
                TlsParams.Builder p = TlsParams.newBuilder();
                if (f.containsKey("port")) {
                    p.setPort(uint(f.get("port"), where + "port"));
                }
                if (f.containsKey("server-name")) {
                    p.setServerName(scalar(f.get("server-name"), where + "server-name"));
                }
                p.setCaPem(caPem(f, where));
                if (f.containsKey("warn-days")) {
                    p.setWarnDays(uint(f.get("warn-days"), where + "warn-days"));
                }
                if (f.containsKey("connect-to")) {
                    p.setConnectTo(scalar(f.get("connect-to"), where + "connect-to"));
                }
                b.setTls(p);
            }
            default -> throw new IllegalStateException(key);
        }
    }

    private String caPem(Map<String, Node> f, String where) {
        if (f.containsKey("ca-pem")) {
            return scalar(f.get("ca-pem"), where + "ca-pem");
        }
        if (!f.containsKey("ca-file")) {
            return "";
        }
        String name = scalar(f.get("ca-file"), where + "ca-file");
        Path p = baseDir.resolve(name);
        try {
            String pem = Files.readString(p, StandardCharsets.US_ASCII);
            if (!pem.contains("-----BEGIN CERTIFICATE-----")) {
                problems.add(at(f.get("ca-file")) + where + "ca-file: " + p + " holds no PEM certificate");
            }
            return pem;
        } catch (NoSuchFileException e) {
            problems.add(at(f.get("ca-file")) + where + "ca-file: " + p + " does not exist (a relative path is read"
                    + " from the checks file's folder)");
            return "";
        } catch (AccessDeniedException e) {
            problems.add(at(f.get("ca-file")) + where + "ca-file: cannot read " + p + " (permission denied)");
            return "";
        } catch (IOException e) {
            problems.add(at(f.get("ca-file")) + where + "ca-file: cannot read " + p + " (" + e.getMessage() + ")");
            return "";
        }
    }

    // --- node helpers: each records a problem with the node's line and returns a neutral value ---

    private Map<String, Node> fields(MappingNode m, Set<String> known, String where) {
        Map<String, Node> out = new LinkedHashMap<>();
        Map<String, Node> seen = new HashMap<>();
        for (NodeTuple t : m.getValue()) {
            String key = t.getKeyNode() instanceof ScalarNode s ? s.getValue() : "?";
            if (duplicate(seen, key, t.getKeyNode(), where)) {
                continue;
            }
            if (!known.contains(key)) {
                // Short keys get no guess: "tag" is two edits from "tcp" without being a typo of it.
                int reach = Math.min(2, key.length() / 3);
                String guess = known.stream().filter(k -> editDistance(k, key) <= reach).sorted().findFirst()
                        .map(k -> "; did you mean " + k + "?").orElse("");
                problems.add(at(t.getKeyNode()) + where + key + ": unknown field" + guess + " (known: "
                        + String.join(", ", new java.util.TreeSet<>(known)) + ")");
                continue;
            }
            out.put(key, t.getValueNode());
        }
        return out;
    }

    /**
     * SnakeYAML reports duplicate keys only when it constructs objects; {@code compose}, used here
     * to keep line numbers, would silently let the last one win.
     */
    private boolean duplicate(Map<String, Node> seen, String key, Node keyNode, String where) {
        Node first = seen.putIfAbsent(key, keyNode);
        if (first == null) {
            return false;
        }
        problems.add(at(keyNode) + where + key + ": appears twice (first on line " + line(first)
                + "); keep one");
        return true;
    }

    /** Levenshtein distance, to suggest the field a typo meant (tiemout -> timeout). */
    private static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int swap = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + swap);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    /** Where a check's messages start: {@code checks[2] (web-origin): }, or without the id when it has none. */
    private static String where(int index, String id) {
        return "checks[" + index + "]" + (id.isEmpty() ? "" : " (" + id + ")") + ": ";
    }

    /** The id written in a check mapping, read before its other fields so every message can name it. */
    private static String peekId(MappingNode m) {
        for (NodeTuple t : m.getValue()) {
            if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals("id")
                    && t.getValueNode() instanceof ScalarNode v) {
                return v.getValue();
            }
        }
        return "";
    }

    /**
     * The line of a validator field ({@code target}, {@code dns.type}) in a check mapping, so the
     * message points at the offending line; the check's first line when the field is not written
     * there (it came from defaults, or is missing).
     */
    private static int fieldLine(MappingNode check, String field) {
        int dot = field.indexOf('.');
        Node key = keyNode(check, dot < 0 ? field : field.substring(0, dot));
        if (key == null) {
            return line(check);
        }
        if (dot >= 0) {
            Node block = valueOf(check, field.substring(0, dot));
            Node inner = block instanceof MappingNode bm ? keyNode(bm, field.substring(dot + 1)) : null;
            if (inner != null) {
                return line(inner);
            }
        }
        return line(key);
    }

    private static Node keyNode(MappingNode m, String key) {
        for (NodeTuple t : m.getValue()) {
            if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals(key)) {
                return k;
            }
        }
        return null;
    }

    private static Node valueOf(MappingNode m, String key) {
        for (NodeTuple t : m.getValue()) {
            if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals(key)) {
                return t.getValueNode();
            }
        }
        return null;
    }

    private MappingNode mapping(Node n, String field) {
        if (n instanceof MappingNode m) {
            return m;
        }
        problems.add(at(n) + field + ": must be a mapping of fields");
        return null;
    }

    private String scalar(Node n, String field) {
        if (n == null) {
            return "";
        }
        if (n instanceof ScalarNode s) {
            return s.getValue();
        }
        problems.add(at(n) + field + ": must be a single value");
        return "";
    }

    private long duration(Node n, String field) {
        String s = scalar(n, field);
        try {
            long ms = Durations.parseMillis(s);
            if (ms > Integer.MAX_VALUE) {
                problems.add(at(n) + field + ": " + s + " is too long");
                return 0;
            }
            return ms;
        } catch (IllegalArgumentException e) {
            problems.add(at(n) + field + ": " + e.getMessage());
            return 0;
        }
    }

    private int uint(Node n, String field) {
        String s = scalar(n, field);
        try {
            int v = Integer.parseInt(s);
            if (v < 0) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            problems.add(at(n) + field + ": \"" + s + "\" is not a whole number >= 0");
            return 0;
        }
    }

    private double number(Node n, String field) {
        String s = scalar(n, field);
        try {
            return Double.parseDouble(s);
        } catch (NumberFormatException e) {
            problems.add(at(n) + field + ": \"" + s + "\" is not a number");
            return 0;
        }
    }

    private boolean bool(Node n, String field) {
        String s = scalar(n, field).toLowerCase(Locale.ROOT);
        return switch (s) {
            case "true", "yes", "on" -> true;
            case "false", "no", "off" -> false;
            default -> {
                problems.add(at(n) + field + ": \"" + s + "\" is not true or false");
                yield false;
            }
        };
    }

    private List<String> stringList(Node n, String field) {
        if (n instanceof ScalarNode s) {
            return List.of(s.getValue());
        }
        if (!(n instanceof SequenceNode seq)) {
            problems.add(at(n) + field + ": must be a list");
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (Node item : seq.getValue()) {
            out.add(scalar(item, field));
        }
        return out;
    }

    private Map<String, String> stringMap(Node n, String field) {
        if (!(n instanceof MappingNode m)) {
            problems.add(at(n) + field + ": must be a mapping of key: value");
            return Map.of();
        }
        Map<String, String> out = new LinkedHashMap<>();
        Map<String, Node> seen = new HashMap<>();
        for (NodeTuple t : m.getValue()) {
            String key = scalar(t.getKeyNode(), field);
            if (!duplicate(seen, key, t.getKeyNode(), field + ".")) {
                out.put(key, scalar(t.getValueNode(), field));
            }
        }
        return out;
    }

    private static int line(Node n) {
        return n.getStartMark().getLine() + 1;
    }

    private String at(Node n) {
        return source + ":" + line(n) + ": ";
    }
}
