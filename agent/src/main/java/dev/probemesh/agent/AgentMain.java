package dev.probemesh.agent;

import dev.probemesh.agent.enroll.AgentCredentials;
import dev.probemesh.agent.enroll.EnrollException;
import dev.probemesh.agent.enroll.Enroller;
import dev.probemesh.agent.link.CoordinatorLink;
import dev.probemesh.common.check.HostPort;
import dev.probemesh.common.check.Selectors;
import dev.probemesh.common.tls.Pem;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code probemesh agent}: enrolls on first start (join token + pinned CA), then runs: dials the
 * coordinator over mTLS, probes what it is assigned under its local policy, streams results.
 */
@Command(name = "probemesh agent", mixinStandardHelpOptions = true,
        description = {"Run a probemesh agent. It dials out to the coordinator (no inbound port) and probes what it",
                "is assigned, under a local policy the coordinator cannot override.", "",
                "First start on a new host (enrolls, then runs):",
                "  probemesh agent --coordinator HOST:443 --name idc-1 --token pmjt_... --ca-pin sha256:...",
                "Later starts reuse the credentials in --data-dir: probemesh agent --coordinator HOST:443"},
        subcommands = AgentMain.Enroll.class)
public final class AgentMain implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(AgentMain.class);

    /** Options shared by running and enrolling. */
    static final class Common {
        @Option(names = "--coordinator", description = "Coordinator HOST:PORT (default port 443).")
        String coordinator;

        @Option(names = "--name", description = "Agent name to ask for at enrollment (default: the host name).")
        String name;

        @Option(names = "--data-dir", defaultValue = "${env:PROBEMESH_AGENT_DIR:-${sys:user.home}/.local/share/probemesh/agent}",
                description = "Credentials (0600) and state (default: ${DEFAULT-VALUE}).")
        Path dataDir;

        @Option(names = "--token", description = "Join token (first start only): probemesh token create --site SITE.")
        String token;

        @Option(names = "--ca-pin", description = "sha256:... pin of the coordinator's CA, printed with the token.")
        String caPin;

        @Option(names = "--config", description = "YAML file with any of: coordinator, name, site, labels, data-dir, policy, trust-ca, insecure.")
        Path config;

        String hostName() {
            if (name != null) {
                return name;
            }
            try {
                return InetAddress.getLocalHost().getHostName().toLowerCase().replaceAll("[^a-z0-9._-]", "-");
            } catch (IOException e) {
                return "agent";
            }
        }
    }

    @Mixin
    Common common = new Common();

    @Option(names = "--site", description = "Site name (only with --insecure: with mTLS the site comes from the certificate).")
    String site;

    @Option(names = "--labels", description = "Labels k=v[,k=v] (with mTLS the token's labels are authoritative).")
    String labels;

    @Option(names = "--policy", description = "Local safety policy file (YAML; see deploy/agent-policy.example.yaml). Default: built-in safe defaults.")
    Path policy;

    @Option(names = "--trust-ca", description = "Extra CA certificate (PEM) trusted by https/tls probes, besides the system's (repeatable).")
    List<Path> trustCa = new ArrayList<>();

    @Option(names = "--insecure", description = "Plaintext, no certificates, identity believed from flags. Development only.")
    boolean insecure;

    @Option(names = "--buffer", defaultValue = "100000", description = "Unacked results kept while the coordinator is away (default: ${DEFAULT-VALUE}); the oldest are dropped beyond.")
    int buffer;

    public static void main(String[] args) {
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
        CommandLine cl = new CommandLine(new AgentMain());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("probemesh agent: " + e.getMessage());
            return e instanceof IllegalArgumentException ? 2 : 1;
        });
        System.exit(cl.execute(args));
    }

    @Override
    public Integer call() throws Exception {
        applyConfigFile();
        if (common.coordinator == null) {
            throw new IllegalArgumentException("--coordinator HOST:PORT is required (or 'coordinator:' in --config)");
        }
        Clock clock = Clock.systemUTC();
        AgentPolicies.Loaded loaded = AgentPolicies.load(policy);
        List<X509Certificate> trust = readTrust(trustCa);
        final CredentialHolder creds;
        CoordinatorLink.Identity identity;
        if (insecure) {
            log.warn("*** --insecure: plaintext to the coordinator, no certificate; the coordinator believes this "
                    + "agent's claimed name. Development only. ***");
            creds = null;
            identity = new CoordinatorLink.Identity(common.hostName(), site == null ? "default" : site,
                    Selectors.parse(labels), Agent.VERSION);
        } else {
            creds = new CredentialHolder(credentials(clock));
            identity = new CoordinatorLink.Identity(creds.get().name(), creds.get().site(), creds.get().labels(),
                    Agent.VERSION);
        }
        String target = common.coordinator.contains(":") ? common.coordinator : common.coordinator + ":443";
        Agent agent = new Agent(new Agent.Options(identity, loaded.policy(), loaded.gate(), loaded.kinds(), trust,
                buffer, 10_000), (group, executor) -> channel(target,
                        insecure ? InsecureChannelCredentials.create() : creds.get().channelCredentials(), group, executor),
                creds == null ? CoordinatorLink.Renewal.none() : creds.renewal(clock), clock);
        Runtime.getRuntime().addShutdownHook(new Thread(agent::close, "shutdown"));
        agent.start();
        log.info("agent {} (site {}) started; coordinator {}; policy: {}", identity.name(), identity.site(), target,
                loaded.description());
        String reason = agent.awaitGoodbye();
        log.error("stopping: {}", reason);
        return 3;
    }

    /**
     * The channel to the coordinator as a running agent opens it: on the agent's Netty event loop
     * and scheduler thread, not gRPC's shared worker and executor pools (fewer threads, and one
     * Netty: grpc-netty on the probes' Netty; docs/ARCHITECTURE.md, "Agent memory").
     */
    public static ManagedChannel channel(String target, ChannelCredentials credentials, EventLoopGroup group,
            Executor executor) {
        return NettyChannelBuilder.forTarget(target, credentials)
                .eventLoopGroup(group)
                .channelType(NioSocketChannel.class)
                .executor(executor)
                .keepAliveTime(30, TimeUnit.SECONDS)
                .keepAliveTimeout(10, TimeUnit.SECONDS)
                .keepAliveWithoutCalls(true)
                .build();
    }

    private AgentCredentials credentials(Clock clock) throws IOException, EnrollException {
        Instant now = clock.instant();
        if (AgentCredentials.exists(common.dataDir)) {
            AgentCredentials c = AgentCredentials.load(common.dataDir);
            if (!c.expired(now)) {
                if (common.token != null) {
                    log.info("already enrolled as {} (site {}); the --token is not needed and was not used", c.name(),
                            c.site());
                }
                return c;
            }
            if (common.token == null) {
                throw new IllegalArgumentException("this agent's certificate expired at " + c.notAfter()
                        + "; re-enroll with a new token: on the coordinator run 'probemesh token create --site "
                        + c.site() + " --name " + c.name() + "', then start the agent with --token and --ca-pin");
            }
            log.info("certificate expired at {}; re-enrolling with the given token", c.notAfter());
        } else if (common.token == null || common.caPin == null) {
            throw new IllegalArgumentException("not enrolled yet (no credentials in " + common.dataDir + "): start "
                    + "with --token and --ca-pin from 'probemesh token create --site SITE' on the coordinator");
        }
        AgentCredentials c = new Enroller().enroll(common.coordinator, common.token, common.caPin, common.hostName(),
                common.dataDir);
        log.info("enrolled as {} (site {}); credentials stored in {}", c.name(), c.site(), common.dataDir);
        return c;
    }

    static List<X509Certificate> readTrust(List<Path> files) throws IOException {
        List<X509Certificate> out = new ArrayList<>();
        for (Path p : files) {
            List<X509Certificate> certs = Pem.readCertificates(Files.readString(p, StandardCharsets.US_ASCII));
            if (certs.isEmpty()) {
                throw new IllegalArgumentException("--trust-ca " + p + " holds no PEM certificate");
            }
            out.addAll(certs);
        }
        return out;
    }

    /** Fills options not given as flags from --config (flags win). */
    private void applyConfigFile() throws IOException {
        if (common.config == null) {
            return;
        }
        Map<String, Object> cfg = AgentConfigFile.read(common.config);
        common.coordinator = common.coordinator != null ? common.coordinator : (String) cfg.get("coordinator");
        common.name = common.name != null ? common.name : (String) cfg.get("name");
        if (cfg.containsKey("data-dir") && System.getenv("PROBEMESH_AGENT_DIR") == null) {
            common.dataDir = Path.of((String) cfg.get("data-dir"));
        }
        site = site != null ? site : (String) cfg.get("site");
        if (labels == null && cfg.get("labels") instanceof Map<?, ?> m) {
            Map<String, String> l = new LinkedHashMap<>();
            m.forEach((k, v) -> l.put(String.valueOf(k), String.valueOf(v)));
            labels = Selectors.format(l);
        }
        policy = policy != null ? policy : Optional.ofNullable((String) cfg.get("policy")).map(Path::of).orElse(null);
        if (trustCa.isEmpty() && cfg.get("trust-ca") instanceof List<?> l) {
            l.forEach(x -> trustCa.add(Path.of(String.valueOf(x))));
        }
        insecure = insecure || Boolean.TRUE.equals(cfg.get("insecure"));
    }

    /** The current credentials, swapped after a renewal so the next connection presents the new certificate. */
    static final class CredentialHolder {
        private volatile AgentCredentials current;
        private volatile long lastRequestMs;

        CredentialHolder(AgentCredentials c) {
            this.current = c;
        }

        AgentCredentials get() {
            return current;
        }

        CoordinatorLink.Renewal renewal(Clock clock) {
            return new CoordinatorLink.Renewal() {
                @Override
                public Optional<byte[]> csrIfDue() {
                    long now = clock.millis();
                    // Ask at most every 10 minutes while renewal is due.
                    if (!current.renewalDue(clock.instant()) || now - lastRequestMs < 600_000) {
                        return Optional.empty();
                    }
                    lastRequestMs = now;
                    try {
                        return Optional.of(current.newCsr());
                    } catch (IOException e) {
                        log.error("cannot make a renewal CSR", e);
                        return Optional.empty();
                    }
                }

                @Override
                public void store(String certificatePem) {
                    try {
                        current = current.storeRenewed(certificatePem);
                        log.info("certificate renewed, valid until {}", current.notAfter());
                    } catch (IOException | RuntimeException e) {
                        log.error("renewed certificate could not be stored", e);
                    }
                }
            };
        }
    }

    @Command(name = "enroll", mixinStandardHelpOptions = true,
            description = "Enroll only: make a key pair here, send a CSR with the join token over TLS pinned to the CA, store the certificate.")
    static final class Enroll implements Callable<Integer> {
        @Mixin
        Common common = new Common();

        @Override
        public Integer call() throws Exception {
            if (common.coordinator == null || common.token == null || common.caPin == null) {
                throw new IllegalArgumentException("enroll needs --coordinator, --token and --ca-pin");
            }
            AgentCredentials c = new Enroller().enroll(common.coordinator, common.token, common.caPin,
                    common.hostName(), common.dataDir);
            System.out.println("enrolled as " + c.name() + " (site " + c.site() + "), certificate valid until "
                    + c.notAfter() + "; credentials in " + common.dataDir);
            System.out.println("start it with: probemesh agent --coordinator " + common.coordinator
                    + " --data-dir " + common.dataDir);
            return 0;
        }
    }
}
