package dev.probemesh.common.check;

import java.util.List;

/** A check spec (from YAML or the API) was rejected; every problem names its field and the fix. */
public final class CheckSpecException extends Exception {
    private final List<String> problems;

    public CheckSpecException(List<String> problems) {
        super(String.join("\n", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
