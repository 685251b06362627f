package dev.probemesh.coordinator;

import dev.probemesh.common.check.Durations;
import dev.probemesh.common.check.HostPort;
import dev.probemesh.coordinator.store.Store;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code probemesh coordinator}: wires everything and owns shutdown. */
@Command(name = "probemesh coordinator", mixinStandardHelpOptions = true,
        description = {"Run the coordinator: agents dial in over mTLS, the CLI calls its admin API.",
                "On first start it creates its CA, its server certificate and an admin credential in --data-dir."})
public final class CoordinatorMain implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(CoordinatorMain.class);

    @Option(names = "--data-dir", defaultValue = "${env:PROBEMESH_COORDINATOR_DIR:-${sys:user.home}/.local/share/probemesh/coordinator}",
            description = "Where the store, CA and admin credential live (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(names = "--listen", defaultValue = "127.0.0.1:7443",
            description = "Address to listen on, HOST:PORT (default: ${DEFAULT-VALUE}; agents behind whitelists like 443).")
    String listen;

    @Option(names = "--server-name", description = "Extra DNS name or IP for the server certificate (repeatable); the listen host is always included.")
    List<String> serverNames = new ArrayList<>();

    @Option(names = "--insecure", description = "Plaintext and no authentication. For local development only.")
    boolean insecure;

    @Option(names = "--retention", defaultValue = "7d", description = "How long raw results are kept (default: ${DEFAULT-VALUE}); hourly rollups stay.")
    String retention;

    @Option(names = "--agent-cert-ttl", defaultValue = "24h", description = "Lifetime of agent certificates; agents renew at 2/3 (default: ${DEFAULT-VALUE}).")
    String agentCertTtl;

    @Option(names = "--confirm-rounds", defaultValue = "2", description = "Rounds a failure must persist before a verdict opens (default: ${DEFAULT-VALUE}).")
    int confirmRounds;

    @Option(names = "--bench-discard-results", description = {"Benchmarks only: ack agents' result batches without "
            + "storing them, so agent-throughput runs measure the agent, not the store. Requires --insecure; sweeps and "
            + "diagnosis see no results."})
    boolean benchDiscardResults;

    public static void main(String[] args) {
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
        System.exit(new CommandLine(new CoordinatorMain()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        HostPort hp = HostPort.parse(listen, 7443);
        if (hp == null) {
            System.err.println("probemesh coordinator: --listen \"" + listen + "\" is not HOST:PORT");
            return 2;
        }
        if (benchDiscardResults && !insecure) {
            System.err.println("probemesh coordinator: --bench-discard-results throws agents' results away; it is for "
                    + "benchmarks only and is refused without --insecure");
            return 2;
        }
        Files.createDirectories(dataDir);
        Clock clock = Clock.systemUTC();
        Store store = Store.openH2(dataDir.resolve("store"));
        Security security;
        if (insecure) {
            log.warn("*** --insecure: plaintext gRPC, NO authentication. Anyone who reaches {} can read and change "
                    + "everything, and agents are believed about who they are. Never use this outside a lab. ***", listen);
            security = Security.insecure();
        } else {
            List<String> names = new ArrayList<>(serverNames);
            names.add(hp.host());
            security = SecureSetup.create(dataDir, names, store.dataSource(), clock,
                    Duration.ofMillis(Durations.parseMillis(agentCertTtl)));
        }
        Coordinator coordinator = Coordinator.start(store, security,
                new Coordinator.Options(new InetSocketAddress(hp.host(), hp.port()),
                        Duration.ofMillis(Durations.parseMillis(retention)), Diagnosis.Config.defaults()
                                .withConfirmRounds(confirmRounds), benchDiscardResults), clock);
        if (benchDiscardResults) {
            log.warn("*** --bench-discard-results: agents' result batches are ACKED AND THROWN AWAY, nothing is stored; "
                    + "the matrix, diagnosis and sweeps see no results. Benchmarks only. ***");
        }
        Runtime.getRuntime().addShutdownHook(new Thread(coordinator::close, "shutdown"));
        System.out.println("probemesh coordinator ready on " + listen + " (data in " + dataDir + ")");
        if (!insecure) {
            System.out.println("CA pin: " + ((SecureSetup) security).caPin());
            System.out.println("admin credential: " + ((SecureSetup) security).adminDir()
                    + "  (probemesh context add NAME --coordinator " + listen + " --admin-dir " + ((SecureSetup) security).adminDir() + ")");
        }
        System.out.flush();
        coordinator.awaitTermination();
        return 0;
    }
}
