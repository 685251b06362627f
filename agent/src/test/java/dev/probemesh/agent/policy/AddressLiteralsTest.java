package dev.probemesh.agent.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.probemesh.agent.probe.net.Addresses;
import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class AddressLiteralsTest {

    @ParameterizedTest(name = "{0} is {1}")
    @CsvSource({
            "169.254.169.254, 169.254.169.254",
            "2852039166, 169.254.169.254",
            "0xA9FEA9FE, 169.254.169.254",
            "0XA9FEA9FE, 169.254.169.254",
            "0251.0376.0251.0376, 169.254.169.254",
            "0xa9.0xfe.0xa9.0xfe, 169.254.169.254",
            "169.254.43518, 169.254.169.254",
            "169.16689662, 169.254.169.254",
            "127.1, 127.0.0.1",
            "0, 0.0.0.0",
            "010.0.0.1, 8.0.0.1",
            "[2001:db8::1], 2001:db8::1",
            "fe80::1%eth0, fe80::1"})
    void readsEveryInetAtonSpelling(String text, String expected) {
        assertThat(AddressLiterals.parse(text).map(Addresses::text)).hasValue(expected);
    }

    @ParameterizedTest
    @ValueSource(strings = {"example.test", "256.1.1.1", "1.2.3.4.5", "4294967296", "09.1.1.1", "0xg1", "1..1",
            "host:80", "", " "})
    void leavesNamesAndNonsenseAlone(String text) {
        assertThat(AddressLiterals.parse(text)).isEmpty();
    }

    @ParameterizedTest(name = "{0} carries {1}")
    @CsvSource({
            "64:ff9b::a9fe:a9fe, 169.254.169.254",
            "64:ff9b:1:a9fe:00a9:fe00::, 169.254.169.254",
            "2002:a9fe:a9fe::1, 169.254.169.254",
            "::169.254.169.254, 169.254.169.254",
            "::ffff:0:a9fe:a9fe, 169.254.169.254",
            "2001:0:4136:e378:8000:63bf:5601:5601, 169.254.169.254"})
    void findsIpv4InsideIpv6(String v6, String v4) throws Exception {
        InetAddress a = AddressLiterals.parse(v6).orElseThrow();
        assertThat(AddressLiterals.embeddedIpv4(a)).extracting(InetAddress::getHostAddress).contains(v4);
    }
}
