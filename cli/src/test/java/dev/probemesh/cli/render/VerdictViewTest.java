package dev.probemesh.cli.render;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.probemesh.proto.v1.Component;
import dev.probemesh.proto.v1.DiagnoseResponse;
import dev.probemesh.proto.v1.Evidence;
import dev.probemesh.proto.v1.Verdict;
import org.junit.jupiter.api.Test;

/** The verdict JSON contract of DESIGN.md: names, nulls and which component fields appear. */
class VerdictViewTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static DiagnoseResponse response(Verdict v) {
        return DiagnoseResponse.newBuilder().setGeneratedAtMs(1_795_348_800_000L).setWindowFromMs(1_795_348_500_000L)
                .setWindowToMs(1_795_348_800_000L).addVerdicts(v).build();
    }

    @Test
    void siteScopedVerdictKeepsEveryContractFieldWithItsName() throws Exception {
        Verdict v = Verdict.newBuilder().setId("v-0192").setKind("LOCAL_PATH_BLOCK").setState("OPEN")
                .setOpenedAtMs(1_795_348_781_000L).setSite("idc").addSites("idc").addAgents("idc-1")
                .setComponent(Component.newBuilder().setLayer("dns").setProtocol("any").setPort(53).setFamily("any"))
                .addChecks("dns-origin-udp").setConfidence(0.934).setSummary("idc cannot reach DNS")
                .addEvidence(Evidence.newBuilder().setAgent("idc-1").setCheck("tcp-origin-443-v4").setStatus("OK"))
                .setRemedy("allow outbound UDP and TCP 53").build();
        JsonNode root = JSON.readTree(Json.write(VerdictView.toJson(response(v))));
        assertThat(root.get("generatedAt").asText()).isEqualTo("2026-11-22T12:00:00Z");
        assertThat(root.get("window").get("from").asText()).isEqualTo("2026-11-22T11:55:00Z");
        JsonNode j = root.get("verdicts").get(0);
        assertThat(j.get("id").asText()).isEqualTo("v-0192");
        assertThat(j.get("kind").asText()).isEqualTo("LOCAL_PATH_BLOCK");
        assertThat(j.get("state").asText()).isEqualTo("OPEN");
        assertThat(j.get("openedAt").asText()).isEqualTo("2026-11-22T11:59:41Z");
        assertThat(j.get("closedAt").isNull()).isTrue();
        assertThat(j.get("site").asText()).isEqualTo("idc");
        assertThat(j.get("agents").get(0).asText()).isEqualTo("idc-1");
        assertThat(j.get("component").toString())
                .isEqualTo("{\"layer\":\"dns\",\"protocol\":\"any\",\"port\":53,\"family\":\"any\"}");
        assertThat(j.get("confidence").asDouble()).isEqualTo(0.93);
        assertThat(j.get("evidence").get(0).get("failure").isNull()).isTrue();
        assertThat(j.get("remedy").asText()).startsWith("allow outbound");
    }

    @Test
    void globalVerdictHasANullSiteAndOnlyTheComponentFieldsThatApply() throws Exception {
        Verdict v = Verdict.newBuilder().setId("v-1").setKind("SHARED_DEPENDENCY_OUTAGE").setState("OPEN")
                .addSites("idc").addSites("home").addSites("vps")
                .setComponent(Component.newBuilder().setLayer("dns").setZone("ddns.test")).build();
        JsonNode j = JSON.readTree(Json.write(VerdictView.toJson(response(v)))).get("verdicts").get(0);
        assertThat(j.get("site").isNull()).isTrue();
        assertThat(j.get("sites")).hasSize(3);
        assertThat(j.get("component").toString()).isEqualTo("{\"layer\":\"dns\",\"family\":\"any\",\"zone\":\"ddns.test\"}");
    }

    @Test
    void aClosedVerdictSaysWhenItClosedNotOnlyWhenItOpened() {
        Verdict v = Verdict.newBuilder().setId("v-2").setKind("AGENT_SILENT").setState("CLOSED").setSite("vps")
                .setOpenedAtMs(1_795_348_781_000L).setClosedAtMs(1_795_348_800_000L)
                .setComponent(Component.newBuilder().setLayer("agent")).setSummary("agent vps-1 is disconnected").build();
        assertThat(VerdictView.toText(response(v), false))
                .contains("closed at 2026-11-22T12:00:00Z, opened 2026-11-22T11:59:41Z");
    }
}
