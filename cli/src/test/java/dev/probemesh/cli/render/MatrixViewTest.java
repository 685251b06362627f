package dev.probemesh.cli.render;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.probemesh.proto.v1.AgentInfo;
import dev.probemesh.proto.v1.Check;
import dev.probemesh.proto.v1.DnsParams;
import dev.probemesh.proto.v1.Family;
import dev.probemesh.proto.v1.MatrixCell;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The matrix as a terminal table and as the JSON contract of DESIGN.md. */
class MatrixViewTest {
    static final List<AgentInfo> AGENTS = List.of(
            AgentInfo.newBuilder().setName("vps-1").setSite("vps").setConnected(true).build(),
            AgentInfo.newBuilder().setName("idc-1").setSite("idc").setConnected(true).build());
    static final List<Check> CHECKS = List.of(
            Check.newBuilder().setId("dns-origin-udp").setKind("dns").setTarget("origin.example.test")
                    .setFamily(Family.FAMILY_IPV4).setDns(DnsParams.newBuilder().setResolver("198.51.100.53")).build(),
            Check.newBuilder().setId("tcp-origin-443-v4").setKind("tcp").setTarget("203.0.113.10:443").build());
    static final List<MatrixCell> CELLS = List.of(
            MatrixCell.newBuilder().setAgent("idc-1").setCheckId("dns-origin-udp").setStatus("FAIL")
                    .setFailure("DNS_TIMEOUT").setAtMs(1_795_348_800_000L).setVerdictId("v-1").build(),
            MatrixCell.newBuilder().setAgent("idc-1").setCheckId("tcp-origin-443-v4").setStatus("OK")
                    .setLatencyMs(1.234).setAtMs(1_795_348_800_000L).build(),
            MatrixCell.newBuilder().setAgent("vps-1").setCheckId("dns-origin-udp").setStatus("OK")
                    .setAtMs(1_795_348_800_000L).build(),
            MatrixCell.newBuilder().setAgent("vps-1").setCheckId("tcp-origin-443-v4").setStatus("MISSING").build());

    @Test
    void tableGroupsAgentsBySiteNumbersChecksAndCountsWhatIsRed() {
        String t = MatrixView.of(1_795_348_800_000L, AGENTS, CHECKS, CELLS).toTable(false, false);
        List<String> lines = t.lines().toList();
        assertThat(lines.get(0)).startsWith("site").contains("agent", "1", "2");
        assertThat(lines.get(1)).startsWith("idc").contains("✗ DNS_TIMEOUT", "✓");
        assertThat(lines.get(2)).startsWith("vps").contains("✓", "?");
        assertThat(t).contains("  1  dns-origin-udp", "  2  tcp-origin-443-v4")
                .contains("2 agents, 2 checks, 4 cells: 1 failing, 0 degraded, 1 without data")
                .contains("explained by open verdicts: v-1 (1 cell)");
    }

    @Test
    void jsonFollowsTheMatrixContract() throws Exception {
        JsonNode j = new ObjectMapper().readTree(Json.write(MatrixView.of(1_795_348_800_000L, AGENTS, CHECKS, CELLS)
                .toJson()));
        assertThat(j.get("generatedAt").asText()).isEqualTo("2026-11-22T12:00:00Z");
        assertThat(j.get("agents").get(0).get("connected").asBoolean()).isTrue();
        JsonNode dns = j.get("checks").get(0);
        assertThat(dns.get("protocol").asText()).isEqualTo("udp");
        assertThat(dns.get("port").asInt()).isEqualTo(53);
        assertThat(dns.get("family").asText()).isEqualTo("ipv4");
        JsonNode red = j.get("cells").get(0);
        assertThat(red.get("status").asText()).isEqualTo("FAIL");
        assertThat(red.get("failure").asText()).isEqualTo("DNS_TIMEOUT");
        assertThat(red.get("verdict").asText()).isEqualTo("v-1");
        JsonNode missing = j.get("cells").get(3);
        assertThat(missing.get("status").asText()).isEqualTo("MISSING");
        assertThat(missing.get("at").isNull()).isTrue();
        assertThat(missing.get("verdict").isNull()).isTrue();
    }
}
