package dev.probemesh.agent.probe.net;

import dev.probemesh.agent.policy.DestinationPolicy;
import dev.probemesh.agent.probe.Probe;
import dev.probemesh.agent.probe.ProbeEnv;
import dev.probemesh.agent.probe.ProbeResult;
import dev.probemesh.agent.probe.icmp.IcmpProbe;
import dev.probemesh.agent.probe.tcp.TcpProbe;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.Family;
import dev.probemesh.proto.v1.IcmpParams;
import dev.probemesh.proto.v1.TcpParams;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Child process for {@link NetnsLab}: runs probe cases inside the namespace it was started in,
 * all at once, and prints one tab-separated RESULT line per case. A case is
 * {@code id|kind|target|family|timeoutMs[|count]} with kind tcp, tcp-errno (a connector that does
 * not read the error queue) or icmp, and family any/ipv4/ipv6.
 * Names in targets resolve through {@code name=addr,addr} cases of kind "name".
 */
public final class NsProbeMain {
    private NsProbeMain() {
    }

    public static void main(String[] args) throws Exception {
        ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2);
        java.util.Map<String, List<String>> names = new java.util.HashMap<>();
        for (String a : args) {
            String[] f = a.split("\\|");
            if (f[1].equals("name")) {
                names.put(f[0], List.of(f[2].split(",")));
            }
        }
        HostCapabilities caps = HostCapabilities.detect();
        ProbeEnv env = new ProbeEnv(scheduler, TestResolvers.table(names), DestinationPolicy.allowAll(), List.of());
        FamilyDialer dialer = new FamilyDialer(env.policy(), () -> caps);
        try (TcpConnector connector = new TcpConnector();
                TcpConnector errnoOnly = new TcpConnector(LocalRoutes.system(), false)) {
            System.out.println("META\ticmp_aware\t" + connector.icmpAware());
            System.out.println("META\tipv6\t" + caps.ipv6());
            System.out.println("META\tipv4\t" + caps.ipv4());
            System.out.println("META\ticmp\t" + caps.icmp() + " " + caps.icmpMechanism());
            Probe tcp = new TcpProbe(env, connector, dialer, null);
            // "tcp-errno": the honest fallback when the socket error queue cannot be read.
            Probe tcpErrno = new TcpProbe(env, errnoOnly, dialer, null);
            Probe icmp = new IcmpProbe(env, dialer, caps.pingBinary(), 8);
            List<CompletableFuture<String>> runs = new ArrayList<>();
            Map<String, Boolean> pending = new java.util.concurrent.ConcurrentHashMap<>();
            for (String a : args) {
                String[] f = a.split("\\|");
                if (f[1].equals("name")) {
                    continue;
                }
                String kind = f[1].startsWith("tcp") ? "tcp" : f[1];
                Check.Builder c = Check.newBuilder().setId(f[0]).setKind(kind).setTarget(f[2])
                        .setFamily(switch (f[3]) {
                            case "ipv4" -> Family.FAMILY_IPV4;
                            case "ipv6" -> Family.FAMILY_IPV6;
                            default -> Family.FAMILY_ANY;
                        }).setTimeoutMs(Integer.parseInt(f[4]));
                if (f[1].equals("icmp")) {
                    c.setIcmp(IcmpParams.newBuilder().setCount(f.length > 5 ? Integer.parseInt(f[5]) : 3));
                } else {
                    c.setTcp(TcpParams.getDefaultInstance());
                }
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(c.getTimeoutMs());
                Probe probe = f[1].equals("icmp") ? icmp : f[1].equals("tcp-errno") ? tcpErrno : tcp;
                pending.put(f[0], Boolean.TRUE);
                runs.add(probe.run(c.build(), deadline).toCompletableFuture().thenApply(r -> {
                    String l = line(f[0], r);
                    synchronized (System.out) {
                        System.out.println(l);
                        System.out.flush();
                    }
                    pending.remove(f[0]);
                    return l;
                }));
            }
            try {
                CompletableFuture.allOf(runs.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                System.out.println("META\tunfinished\t" + String.join(",", pending.keySet()));
            }
                } finally {
            scheduler.shutdownNow();
        }
        System.out.flush();
        System.exit(0);
    }

    private static String line(String id, ProbeResult r) {
        String attrs = r.attributes().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining(";"));
        return String.join("\t", "RESULT", id, r.status().name(), r.failure() == null ? "" : r.failure().name(),
                r.address(), r.family().name(), r.detail().replace('\t', ' ').replace('\n', ' '), attrs);
    }

}
