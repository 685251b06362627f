package dev.probemesh.agent.probe.net;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AddressesTest {

    @ParameterizedTest
    @CsvSource({
            "2001:db8:0:0:0:0:0:10, 2001:db8::10",
            "2001:db8:1:0:0:0:0:ff, 2001:db8:1::ff",
            "0:0:0:0:0:0:0:1, ::1",
            "0:0:0:0:0:0:0:0, ::",
            "fe80:0:0:0:0:0:0:1, fe80::1",
            "2001:db8:0:1:0:0:0:1, 2001:db8:0:1::1",
            "2001:db8:1:2:3:4:5:6, 2001:db8:1:2:3:4:5:6",
            "198.51.100.7, 198.51.100.7"})
    void writesAddressesTheWayPeopleDo(String literal, String expected) {
        assertThat(Addresses.text(TestResolvers.literal(literal))).isEqualTo(expected);
    }
}
