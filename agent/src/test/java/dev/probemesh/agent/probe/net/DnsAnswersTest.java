package dev.probemesh.agent.probe.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

class DnsAnswersTest {

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "2001:db8:113:0:0:0:0:10, 2001:db8:113::10",
        "2001:db8:0:1:0:0:0:1, 2001:db8:0:1::1",
        "0:0:0:0:0:0:0:1, ::1",
        "0:0:0:0:0:0:0:0, ::",
        "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
        "2001:db8:1:2:3:4:5:6, 2001:db8:1:2:3:4:5:6",
        "fe80:0:0:0:0:0:0:0, fe80::",
    })
    void rendersIpv6InRfc5952Form(String full, String expected) throws Exception {
        assertThat(DnsAnswers.address(InetAddress.getByName(full))).isEqualTo(expected);
    }

    @Test
    void followsACnameChainToTheRecordsAtItsEnd() throws Exception {
        Name home = Name.fromString("home.example.test.");
        Name mid = Name.fromString("myhome.ddns.test.");
        Name end = Name.fromString("edge.cdn.test.");
        Message m = Message.newQuery(Record.newRecord(home, Type.A, DClass.IN));
        m.addRecord(new CNAMERecord(home, DClass.IN, 5, mid), Section.ANSWER);
        m.addRecord(new CNAMERecord(mid, DClass.IN, 5, end), Section.ANSWER);
        m.addRecord(new ARecord(end, DClass.IN, 5, InetAddress.getByName("203.0.113.10")), Section.ANSWER);
        m.addRecord(new ARecord(home, DClass.IN, 5, InetAddress.getByName("203.0.113.66")), Section.ADDITIONAL);

        DnsAnswers.Chain c = DnsAnswers.follow(m, home, Type.A);

        assertThat(c.names()).containsExactly(home, mid, end);
        assertThat(c.records()).extracting(DnsAnswers::rdata).containsExactly("203.0.113.10");
        assertThat(c.dangling()).isFalse();
    }

    @Test
    void stopsOnACnameLoop() throws Exception {
        Name a = Name.fromString("a.test.");
        Name b = Name.fromString("b.test.");
        Message m = Message.newQuery(Record.newRecord(a, Type.A, DClass.IN));
        m.addRecord(new CNAMERecord(a, DClass.IN, 5, b), Section.ANSWER);
        m.addRecord(new CNAMERecord(b, DClass.IN, 5, a), Section.ANSWER);

        DnsAnswers.Chain c = DnsAnswers.follow(m, a, Type.A);

        assertThat(c.names()).containsExactly(a, b);
        assertThat(c.records()).isEmpty();
    }
}
