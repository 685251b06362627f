package dev.probemesh.agent.probe.net;

import java.util.ArrayList;
import java.util.List;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** Reading an answer section: the CNAME chain from the question's name and the records at its end. */
public final class DnsAnswers {
    private static final int MAX_CHAIN = 16;

    /**
     * @param names every name followed, the query name first and the chain's end last
     * @param records the answer records of the asked type owned by the chain's end
     */
    public record Chain(List<Name> names, List<Record> records) {
        public Chain {
            names = List.copyOf(names);
            records = List.copyOf(records);
        }

        public Name end() {
            return names.get(names.size() - 1);
        }

        /** True when the answer ended on a CNAME target it holds no records for. */
        public boolean dangling() {
            return records.isEmpty() && names.size() > 1;
        }
    }

    private DnsAnswers() {
    }

    /** Follows CNAMEs in {@code m}'s answer section from {@code qname} (bounded, loop-safe). */
    public static Chain follow(Message m, Name qname, int qtype) {
        List<Record> answer = m.getSection(Section.ANSWER);
        List<Name> names = new ArrayList<>();
        names.add(qname);
        Name current = qname;
        for (int i = 0; i < MAX_CHAIN; i++) {
            List<Record> found = new ArrayList<>();
            CNAMERecord cname = null;
            for (Record r : answer) {
                if (!r.getName().equals(current)) {
                    continue;
                }
                if (r.getType() == qtype) {
                    found.add(r);
                } else if (r instanceof CNAMERecord c && qtype != Type.CNAME) {
                    cname = c;
                }
            }
            if (!found.isEmpty() || cname == null || names.contains(cname.getTarget())) {
                return new Chain(names, found);
            }
            current = cname.getTarget();
            names.add(current);
        }
        return new Chain(names, List.of());
    }

    /** A record's data as the answers attribute shows it: IPv6 in RFC 5952 short form, else zone-file text. */
    public static String rdata(Record r) {
        if (r instanceof ARecord) {
            // The dotted quad, as getAddress().getHostAddress() would print it, without the
            // InetAddress that getAddress() builds (it renders the owner name for its hostname).
            return r.rdataToString();
        }
        if (r instanceof AAAARecord a) {
            return Addresses.text(a.getAddress());
        }
        return r.rdataToString();
    }

    /** An address in RFC 5952 text form (the longest run of zero groups, if 2+, becomes "::"). */
    public static String address(java.net.InetAddress a) {
        return Addresses.text(a);
    }

    /** A name without its trailing dot, as attributes and details show it ("." stays "."). */
    public static String text(Name n) {
        String s = n.toString();
        return s.length() > 1 && s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }
}
