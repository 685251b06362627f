package dev.probemesh.coordinator.correlate;

/** One row of the operator's table: what one agent saw for one check (green rows included). */
public record Evidence(String agent, String check, String status, String failure, String detail, String layer) {

    public dev.probemesh.proto.v1.Evidence toProto() {
        var b = dev.probemesh.proto.v1.Evidence.newBuilder().setAgent(agent).setCheck(check).setStatus(status);
        if (failure != null) {
            b.setFailure(failure);
        }
        if (detail != null) {
            b.setDetail(detail);
        }
        if (layer != null) {
            b.setLayer(layer);
        }
        return b.build();
    }

    static Evidence fromProto(dev.probemesh.proto.v1.Evidence e) {
        return new Evidence(e.getAgent(), e.getCheck(), e.getStatus(), Component.emptyToNull(e.getFailure()),
                Component.emptyToNull(e.getDetail()), Component.emptyToNull(e.getLayer()));
    }
}
