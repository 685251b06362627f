package dev.probemesh.agent.probe.http;

import dev.probemesh.agent.policy.DestinationPolicy;
import dev.probemesh.agent.probe.Probe;
import dev.probemesh.agent.probe.ProbeEnv;
import dev.probemesh.agent.probe.ProbeResult;
import dev.probemesh.agent.probe.net.FamilyDialer;
import dev.probemesh.agent.probe.net.HostCapabilities;
import dev.probemesh.agent.probe.net.TestResolvers;
import dev.probemesh.agent.probe.tls.TlsProbe;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.Family;
import dev.probemesh.proto.v1.HttpParams;
import dev.probemesh.proto.v1.TlsParams;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Child process for {@link HttpsLocalFirewallNamespaceTest}, started in the client namespace: runs
 * https and tls probe cases {@code id|https|url|family|timeoutMs} or {@code id|tls|host:port|family|timeoutMs}
 * at once, trusting the CA in the PEM file named by the first argument, through the probes' own
 * constructors (each probe makes and owns its TCP connector, as a caller without the agent's does).
 * Prints one tab-separated {@code RESULT id status failure address family detail k=v;k=v} line per
 * case.
 */
public final class NsHttpsProbeMain {
    private NsHttpsProbeMain() {
    }

    public static void main(String[] args) throws Exception {
        String caPem = Files.readString(Path.of(args[0]), StandardCharsets.US_ASCII);
        ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(1);
        HostCapabilities caps = HostCapabilities.detect();
        ProbeEnv env = new ProbeEnv(scheduler, TestResolvers.literalsOnly(), DestinationPolicy.allowAll(), List.of());
        FamilyDialer dialer = new FamilyDialer(env.policy(), () -> caps);
        try (HttpProbe https = new HttpProbe(env, dialer); TlsProbe tls = new TlsProbe(env, dialer)) {
            List<CompletableFuture<?>> runs = new ArrayList<>();
            for (String a : List.of(args).subList(1, args.length)) {
                String[] f = a.split("\\|");
                Check.Builder c = Check.newBuilder().setId(f[0]).setKind(f[1]).setTarget(f[2])
                        .setFamily(switch (f[3]) {
                            case "ipv4" -> Family.FAMILY_IPV4;
                            case "ipv6" -> Family.FAMILY_IPV6;
                            default -> Family.FAMILY_ANY;
                        }).setTimeoutMs(Integer.parseInt(f[4]));
                Probe probe;
                if (f[1].equals("tls")) {
                    c.setTls(TlsParams.newBuilder().setCaPem(caPem));
                    probe = tls;
                } else {
                    c.setHttp(HttpParams.newBuilder().setCaPem(caPem).addExpectStatus(200));
                    probe = https;
                }
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(c.getTimeoutMs());
                runs.add(probe.run(c.build(), deadline).toCompletableFuture().thenAccept(r -> {
                    String l = line(f[0], r);
                    synchronized (System.out) {
                        System.out.println(l);
                        System.out.flush();
                    }
                }));
            }
            CompletableFuture.allOf(runs.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
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
