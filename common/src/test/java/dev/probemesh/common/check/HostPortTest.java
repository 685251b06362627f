package dev.probemesh.common.check;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HostPortTest {

    @ParameterizedTest(name = "\"{0}\" (default {1}) -> {2} port {3}")
    @CsvSource(delimiter = '|', textBlock = """
            origin.example.test             | 443 | origin.example.test | 443
            origin.example.test:8443        | 443 | origin.example.test | 8443
            '  origin.example.test:80  '    | 443 | origin.example.test | 80
            192.0.2.1                       | 53  | 192.0.2.1           | 53
            192.0.2.1:5353                  | 53  | 192.0.2.1           | 5353
            127.0.0.1:443                   | 0   | 127.0.0.1           | 443
            [2001:db8::1]:443               | 80  | 2001:db8::1         | 443
            [2001:db8::1]                   | 80  | 2001:db8::1         | 80
            2001:db8::1                     | 80  | 2001:db8::1         | 80
            ::1                             | 7   | ::1                 | 7
            ::ffff:192.0.2.1                | 80  | ::ffff:192.0.2.1    | 80
            [::ffff:192.0.2.1]:8080         | 80  | ::ffff:192.0.2.1    | 8080
            [fe80::1%eth0]:22               | 0   | fe80::1%eth0        | 22
            db.example.test:65535           | 0   | db.example.test     | 65535
            db.example.test:0               | 5   | db.example.test     | 0
            db.example.test                 | 0   | db.example.test     | 0
            """)
    void parsesHostAndPort(String text, int defaultPort, String host, int port) {
        assertThat(HostPort.parse(text, defaultPort)).isEqualTo(new HostPort(host, port));
    }

    @ParameterizedTest(name = "\"{0}\" is malformed")
    @CsvSource(delimiter = '|', textBlock = """
            db.example.test:65536
            db.example.test:99999999999
            db.example.test:-1
            db.example.test:+80
            db.example.test:
            db.example.test:https
            192.0.2.1:5353x
            [2001:db8::1]:
            [2001:db8::1]:70000
            [2001:db8::1]443
            [2001:db8::1
            [origin.example.test]:443
            a:b:80
            ''
            '   '
            """)
    void returnsNullForMalformedTextOrBadPort(String text) {
        assertThat(HostPort.parse(text, 443)).isNull();
    }

    @Test
    void returnsNullForNull() {
        assertThat(HostPort.parse(null, 443)).isNull();
    }

    @ParameterizedTest(name = "hostOf(\"{0}\") = {1}")
    @CsvSource(delimiter = '|', textBlock = """
            192.0.2.1:443       | 192.0.2.1
            [2001:db8::1]:443   | 2001:db8::1
            2001:db8::1         | 2001:db8::1
            edge.example.test   | edge.example.test
            a:b:80              | a:b:80
            """)
    void hostOfStripsThePortAndKeepsMalformedTextAsWritten(String text, String host) {
        assertThat(HostPort.hostOf(text)).isEqualTo(host);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            192.0.2.1:443       | 192.0.2.1   | 443
            [2001:db8::1]:443   | 2001:db8::1 | 443
            db.example.test:5432| db.example.test | 5432
            """)
    void printsBracketsAroundIpv6SoTheTextParsesBack(String text, String host, int port) {
        HostPort hp = new HostPort(host, port);

        assertThat(hp.toString()).isEqualTo(text);
        assertThat(HostPort.parse(hp.toString(), 0)).isEqualTo(hp);
    }
}
