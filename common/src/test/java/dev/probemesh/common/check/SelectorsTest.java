package dev.probemesh.common.check;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SelectorsTest {

    @Test
    void parsesPairsInOrderAndTrimsSpaces() {
        assertThat(Selectors.parse(" site = idc , role=edge,rack=r1 "))
                .containsExactly(Map.entry("site", "idc"), Map.entry("role", "edge"), Map.entry("rack", "r1"));
    }

    @ParameterizedTest(name = "\"{0}\" is the empty selector")
    @CsvSource(nullValues = "NULL", textBlock = """
            ''
            '   '
            NULL
            """)
    void parsesBlankAsTheEmptySelector(String text) {
        assertThat(Selectors.parse(text)).isEmpty();
    }

    @ParameterizedTest(name = "\"{0}\" -> {1}")
    @CsvSource(delimiter = '|', textBlock = """
            site                  | 'selector "site": "site" is not key=value (e.g. site=idc,role=edge)'
            =idc                  | 'selector "=idc": "=idc" is not key=value (e.g. site=idc,role=edge)'
            site=                 | 'selector "site=": "site=" is not key=value (e.g. site=idc,role=edge)'
            ' = '                 | 'selector " = ": "=" is not key=value (e.g. site=idc,role=edge)'
            'site=idc,,role=edge' | 'selector "site=idc,,role=edge": "" is not key=value (e.g. site=idc,role=edge)'
            'site=idc,'           | 'selector "site=idc,": "" is not key=value (e.g. site=idc,role=edge)'
            'site=idc,site=lab'   | 'selector "site=idc,site=lab": key "site" appears twice'
            """)
    void rejectsMalformedSelectorsNamingTheWholeTextAndThePart(String text, String message) {
        assertThatThrownBy(() -> Selectors.parse(text))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
    }

    @Test
    void formatsInInsertionOrderAndParsesBack() {
        Map<String, String> selector = new LinkedHashMap<>();
        selector.put("site", "idc");
        selector.put("role", "edge");

        assertThat(Selectors.format(selector)).isEqualTo("site=idc,role=edge");
        assertThat(Selectors.parse(Selectors.format(selector))).isEqualTo(selector);
        assertThat(Selectors.format(Map.of())).isEmpty();
    }

    @ParameterizedTest(name = "{0} on site {1} with labels {2} -> {3}")
    @CsvSource(delimiter = '|', textBlock = """
            ''                   | idc | role=edge           | true
            site=idc             | idc | ''                  | true
            site=idc             | lab | ''                  | false
            site=idc             | lab | site=idc            | false
            role=edge            | idc | role=edge,rack=r1   | true
            role=edge            | idc | role=core           | false
            role=edge            | idc | ''                  | false
            role=Edge            | idc | role=edge           | false
            site=idc,role=edge   | idc | role=edge           | true
            site=idc,role=edge   | lab | role=edge           | false
            site=idc,role=edge   | idc | rack=r1             | false
            """)
    void matchesWhenEveryPairMatchesAndSiteIsTheAgentsSiteNotALabel(
            String selector, String site, String labels, boolean matches) {
        assertThat(Selectors.matches(Selectors.parse(selector), site, Selectors.parse(labels))).isEqualTo(matches);
    }
}
