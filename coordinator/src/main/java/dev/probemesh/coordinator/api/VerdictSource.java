package dev.probemesh.coordinator.api;

import dev.probemesh.proto.v1.DiagnoseRequest;
import dev.probemesh.proto.v1.DiagnoseResponse;
import java.util.Map;

/** Where the admin API gets verdicts from: the correlation loop. */
public interface VerdictSource {

    DiagnoseResponse diagnose(DiagnoseRequest request);

    /** "agent|checkId" -> id of the open verdict explaining that red cell. */
    Map<String, String> cellVerdicts();
}
