package dev.probemesh.common.check;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Address literals recognised without a resolver; a name or an address with a port is neither. */
class HostsTest {

    @ParameterizedTest(name = "\"{0}\" -> v4={1} v6={2}")
    @CsvSource(delimiter = '|', nullValues = "NULL", textBlock = """
            192.0.2.1                   | true  | false
            0.0.0.0                     | true  | false
            255.255.255.255             | true  | false
            256.0.0.1                   | false | false
            192.0.2                     | false | false
            192.0.2.01                  | false | false
            192.0.2.1.5                 | false | false
            127.0.0.1:443               | false | false
            ::1                         | false | true
            ::                          | false | true
            2001:db8::1                 | false | true
            2001:DB8:0:0:0:0:0:1        | false | true
            2001:db8:0:0:0:0:0:0:1      | false | false
            2001:db8:0:0:0:0:1          | false | false
            1::                         | false | true
            [2001:db8::1]               | false | true
            fe80::1%eth0                | false | true
            fe80::1%                    | false | false
            ::ffff:192.0.2.1            | false | true
            ::192.0.2.1                 | false | true
            1:2:3:4:5:6:192.0.2.1       | false | true
            ::ffff:192.0.2.256          | false | false
            :::                         | false | false
            1::2::3                     | false | false
            2001:db8::12345             | false | false
            2001:db8::g                 | false | false
            dead:beef                   | false | false
            [2001:db8::1]:443           | false | false
            origin.example.test         | false | false
            cafe                        | false | false
            ''                          | false | false
            NULL                        | false | false
            """)
    void recognisesAddressLiteralsOnly(String text, boolean v4, boolean v6) {
        assertThat(Hosts.isIpv4Literal(text)).as("v4").isEqualTo(v4);
        assertThat(Hosts.isIpv6Literal(text)).as("v6").isEqualTo(v6);
        assertThat(Hosts.isIpLiteral(text)).as("either").isEqualTo(v4 || v6);
    }
}
