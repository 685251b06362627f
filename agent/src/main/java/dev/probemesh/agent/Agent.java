package dev.probemesh.agent;

import dev.probemesh.agent.link.CoordinatorLink;
import dev.probemesh.agent.policy.DestinationPolicy;
import dev.probemesh.agent.probe.Probe;
import dev.probemesh.agent.probe.ProbeEnv;
import dev.probemesh.agent.probe.ProbeRunner;
import dev.probemesh.agent.probe.dns.DnsProbe;
import dev.probemesh.agent.probe.http.HttpProbe;
import dev.probemesh.agent.probe.icmp.IcmpProbe;
import dev.probemesh.agent.probe.trace.DnsTraceProbe;
import dev.probemesh.agent.probe.net.DnsTransport;
import dev.probemesh.agent.probe.net.DnsjavaAddressResolver;
import dev.probemesh.agent.probe.net.FamilyDialer;
import dev.probemesh.agent.probe.net.HostCapabilities;
import dev.probemesh.agent.probe.net.TcpConnector;
import dev.probemesh.agent.probe.tcp.TcpProbe;
import dev.probemesh.agent.probe.tcp.TlsHandshaker;
import dev.probemesh.agent.probe.tls.TlsProbe;
import dev.probemesh.agent.report.ResultBuffer;
import dev.probemesh.agent.schedule.CheckScheduler;
import dev.probemesh.common.check.CheckKind;
import dev.probemesh.proto.v1.Assignment;
import dev.probemesh.proto.v1.Capabilities;
import dev.probemesh.proto.v1.RunNow;
import dev.probemesh.proto.v1.Welcome;
import io.grpc.ManagedChannel;
import io.netty.channel.EventLoopGroup;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running agent: probes (sharing one scheduler thread, one DNS transport, one TCP selector
 * and one Netty event loop, which the link's gRPC channel shares too), its local policy, the check
 * scheduler, the bounded result buffer and the outbound link. Holds no database. {@link #close()} stops it all.
 */
public final class Agent implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Agent.class);
    public static final String VERSION = versionOf();

    /** How an agent is set up; built from flags and the config file by {@link AgentMain}. */
    public record Options(CoordinatorLink.Identity identity, DestinationPolicy policy, ProbeRunner.Gate gate,
            Set<CheckKind> allowedKinds, List<X509Certificate> extraTrust, int bufferCapacity, long heartbeatMs) {
        public Options {
            allowedKinds = Set.copyOf(allowedKinds);
            extraTrust = List.copyOf(extraTrust);
        }
    }

    private final ScheduledExecutorService scheduler;
    private final DnsTransport dns;
    private final TcpConnector connector;
    private final EventLoopGroup netty;
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final ResultBuffer buffer;
    private final CheckScheduler checks;
    private final CoordinatorLink link;
    private final CachedCapabilities capabilities;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile String goodbye;

    /**
     * Opens the channel to the coordinator on the agent's own Netty event loop and executor, so
     * gRPC adds no threads of its own (see docs/ARCHITECTURE.md, "Agent memory").
     */
    @FunctionalInterface
    public interface ChannelFactory {
        ManagedChannel open(EventLoopGroup group, Executor executor);
    }

    /** An agent whose channel brings its own threads (tests over in-process or shaded transports). */
    public Agent(Options options, Supplier<ManagedChannel> channels, CoordinatorLink.Renewal renewal, Clock clock) {
        this(options, (group, executor) -> channels.get(), renewal, clock);
    }

    public Agent(Options options, ChannelFactory channels, CoordinatorLink.Renewal renewal, Clock clock) {
        this.scheduler = Executors.newScheduledThreadPool(1, r -> {
            Thread t = new Thread(r, "agent-scheduler");
            t.setDaemon(true);
            return t;
        });
        this.capabilities = new CachedCapabilities(clock);
        this.dns = new DnsTransport(scheduler, scheduler);
        this.connector = new TcpConnector(scheduler); // completes on the scheduler, one hand-off per batch
        var resolver = DnsjavaAddressResolver.system(dns, () -> capabilities.host().ipv6());
        ProbeEnv env = new ProbeEnv(scheduler, resolver, options.policy(), options.extraTrust());
        FamilyDialer dialer = new FamilyDialer(options.policy(), capabilities::host);
        Map<CheckKind, Probe> probes = new EnumMap<>(CheckKind.class);
        // One Netty event loop serves every TLS and HTTP probe; they connect through the shared
        // connector, the one that reads ICMP errors (this host's own REJECT is LOCAL_FIREWALL).
        this.netty = TlsProbe.newGroup("agent-netty");
        probes.put(CheckKind.TLS, new TlsProbe(env, dialer, connector, netty, clock));
        HttpProbe http = new HttpProbe(env, dialer, connector, netty, clock);
        probes.put(CheckKind.HTTP, http);
        probes.put(CheckKind.HTTPS, http);
        probes.put(CheckKind.TCP, new TcpProbe(env, connector, dialer,
                new TlsHandshaker(netty, options.extraTrust())));
        probes.put(CheckKind.DNS, DnsProbe.withSystemResolver(env, dns));
        probes.put(CheckKind.DNS_TRACE, DnsTraceProbe.withSystemResolver(env, dns));
        probes.put(CheckKind.ICMP, new IcmpProbe(env, dialer, capabilities.host().pingBinary(), 64));
        probes.keySet().retainAll(options.allowedKinds());
        ProbeRunner runner = new ProbeRunner(probes, options.gate(), scheduler, clock);
        this.buffer = new ResultBuffer(UUID.randomUUID().toString(), options.bufferCapacity());
        this.checks = new CheckScheduler(scheduler, runner, buffer, options.identity().name());
        Set<CheckKind> kinds = probes.keySet();
        this.link = new CoordinatorLink(() -> channels.open(netty, scheduler), buffer, options.identity(),
                () -> capabilities.wire(kinds), new CoordinatorLink.Handler() {
                    @Override
                    public void onWelcome(Welcome welcome) {
                    }

                    @Override
                    public void onAssignment(Assignment a) {
                        checks.assign(a.getChecksList());
                    }

                    @Override
                    public void onRunNow(RunNow r) {
                        checks.runOnce(r.getChecksList(), r.getSweepId(), r.getDelayPerCheckMsMap(), r.getDelayMs());
                    }

                    @Override
                    public void onGoodbye(String reason) {
                        goodbye = reason;
                        stopped.countDown();
                    }
                }, renewal, scheduler, clock, options.heartbeatMs());
    }

    public Agent start() {
        link.start();
        return this;
    }

    public boolean connected() {
        return link.connected();
    }

    public ResultBuffer buffer() {
        return buffer;
    }

    public int assignedChecks() {
        return checks.size();
    }

    /** Blocks until the coordinator says goodbye (revoked); returns its reason. */
    public String awaitGoodbye() throws InterruptedException {
        stopped.await();
        return goodbye;
    }

    public boolean awaitGoodbye(long timeout, TimeUnit unit) throws InterruptedException {
        return stopped.await(timeout, unit);
    }

    @Override
    public void close() {
        link.close();
        checks.close();
        for (AutoCloseable c : closeables) {
            try {
                c.close();
            } catch (Exception e) {
                log.debug("close failed", e);
            }
        }
        connector.close();
        dns.close();
        netty.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        scheduler.shutdownNow();
    }

    private static String versionOf() {
        String v = Agent.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /** Host capabilities, re-detected at most every 30 s (it runs a ping). */
    static final class CachedCapabilities {
        private final Clock clock;
        private HostCapabilities value;
        private long at;

        CachedCapabilities(Clock clock) {
            this.clock = clock;
        }

        synchronized HostCapabilities host() {
            long now = clock.millis();
            if (value == null || now - at > 30_000) {
                value = HostCapabilities.detect();
                at = now;
            }
            return value;
        }

        Capabilities wire(Set<CheckKind> kinds) {
            HostCapabilities h = host();
            Capabilities.Builder b = Capabilities.newBuilder().setIpv4(h.ipv4()).setIpv6(h.ipv6()).setIcmp(h.icmp())
                    .setIcmpMechanism(h.icmpMechanism());
            kinds.stream().map(CheckKind::wireName).sorted().forEach(b::addProbeKinds);
            return b.build();
        }
    }
}
