package dev.probemesh.agent.probe.icmp;

import dev.probemesh.common.failure.FailureCode;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What one iputils {@code ping} run printed (stdout and stderr merged), parsed: counts, loss,
 * round-trip times and, when nothing came back, why.
 *
 * @param transmitted echo requests sent (-1 when ping printed no statistics)
 * @param received echo replies received
 * @param rttAvgMs average round trip, -1 when there was no reply
 * @param failure why no reply came back (null when some did): an ICMP error a router sent, or a
 *     local refusal
 * @param failureDetail a short human explanation of {@code failure}
 * @param from the address that sent the ICMP error, "" when none
 */
public record PingOutput(int transmitted, int received, double lossPct, double rttMinMs, double rttAvgMs,
        double rttMaxMs, FailureCode failure, String failureDetail, String from) {

    private static final Pattern STATS = Pattern.compile(
            "(\\d+) packets transmitted, (\\d+) (?:packets )?received(?:, \\+\\d+ errors)?(?:, \\+\\d+ duplicates)?, ([\\d.]+)% packet loss");
    private static final Pattern RTT = Pattern.compile("= ([\\d.]+)/([\\d.]+)/([\\d.]+)/[\\d.]+ ms");
    private static final Pattern FROM = Pattern.compile("From ([0-9a-fA-F.:]+)(?: \\([^)]*\\))?:? icmp_seq=\\d+ (.+)");

    /** Parses ping's merged output. */
    public static PingOutput parse(String out) {
        int tx = -1;
        int rx = 0;
        double loss = 100;
        Matcher s = STATS.matcher(out);
        if (s.find()) {
            tx = Integer.parseInt(s.group(1));
            rx = Integer.parseInt(s.group(2));
            loss = Double.parseDouble(s.group(3));
        }
        double min = -1;
        double avg = -1;
        double max = -1;
        Matcher r = RTT.matcher(out);
        if (r.find()) {
            min = Double.parseDouble(r.group(1));
            avg = Double.parseDouble(r.group(2));
            max = Double.parseDouble(r.group(3));
        }
        FailureCode code = null;
        String detail = "";
        String from = "";
        if (rx == 0) {
            String lower = out.toLowerCase(Locale.ROOT);
            Matcher f = FROM.matcher(out);
            if (lower.contains("operation not permitted")) {
                code = FailureCode.LOCAL_FIREWALL;
                detail = "this host's firewall refused the echo request (sendmsg: Operation not permitted)";
            } else if (f.find()) {
                from = f.group(1);
                String what = f.group(2).trim();
                code = icmpCode(what.toLowerCase(Locale.ROOT));
                detail = "rejected by " + from + " (" + what + ")";
            } else if (lower.contains("network is unreachable")) {
                code = FailureCode.NO_ROUTE;
                detail = "this host has no route to the target (connect: Network is unreachable)";
            } else if (lower.contains("no route to host")) {
                code = FailureCode.HOST_UNREACHABLE;
                detail = "host unreachable (No route to host)";
            } else if (lower.contains("address family not supported") || lower.contains("cannot assign requested address")) {
                code = FailureCode.ADDRESS_FAMILY_UNAVAILABLE;
                detail = "this host cannot ping that address family";
            } else if (tx > 0) {
                code = FailureCode.TIMEOUT;
                detail = "no echo reply to " + tx + " request" + (tx == 1 ? "" : "s") + " (100% loss)";
            } else {
                code = FailureCode.INTERNAL;
                String firstLine = out.strip().lines().findFirst().orElse("no output");
                detail = "ping failed: " + firstLine;
            }
        }
        return new PingOutput(tx, rx, loss, min, avg, max, code, detail, from);
    }

    /** iputils' wording of ICMP errors, v4 ("Packet filtered", "Destination Host Unreachable") and v6. */
    static FailureCode icmpCode(String what) {
        if (what.contains("filtered") || what.contains("prohibited")) {
            return FailureCode.ADMIN_PROHIBITED;
        }
        if (what.contains("net unreachable") || what.contains("no route") || what.contains("beyond scope")
                || what.contains("time to live exceeded")) {
            return FailureCode.NET_UNREACHABLE;
        }
        if (what.contains("host unreachable") || what.contains("address unreachable")) {
            return FailureCode.HOST_UNREACHABLE;
        }
        return FailureCode.HOST_UNREACHABLE;
    }

    /** Replies came back, but not all. */
    public boolean partialLoss() {
        return received > 0 && transmitted > received;
    }

    /** sent, received, loss_pct, rtt_avg_ms (when there was a reply), rejected_by (when an ICMP error named one). */
    public Map<String, String> attributes() {
        Map<String, String> a = new LinkedHashMap<>();
        if (transmitted >= 0) {
            a.put("sent", Integer.toString(transmitted));
            a.put("received", Integer.toString(received));
            a.put("loss_pct", trim(lossPct));
        }
        if (rttAvgMs >= 0) {
            a.put("rtt_min_ms", trim(rttMinMs));
            a.put("rtt_avg_ms", trim(rttAvgMs));
            a.put("rtt_max_ms", trim(rttMaxMs));
        }
        if (!from.isEmpty()) {
            a.put("rejected_by", from);
        }
        return a;
    }

    private static String trim(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
