package dev.probemesh.coordinator.identity;

import java.util.Map;
import java.util.regex.Pattern;

/** The syntax of agent names, sites and labels that end up in certificates. */
public final class Names {
    /** Agent names: DNS-label-like, lower case, so they are safe in URIs, file names and logs. */
    public static final Pattern AGENT_NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
    public static final Pattern SITE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    public static final Pattern LABEL_KEY = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/-]{0,62}");
    private static final int MAX_LABEL_VALUE = 255;
    private static final int MAX_LABELS = 32;

    private Names() {
    }

    public static void requireAgentName(String name, String field) throws IdentityException {
        if (name == null || !AGENT_NAME.matcher(name).matches()) {
            throw new IdentityException(IdentityException.Kind.INVALID_REQUEST, field + " '" + name
                    + "' is not a valid agent name: use 1-63 characters [a-z0-9._-], starting with a letter or digit");
        }
    }

    public static void requireSite(String site) {
        if (site == null || !SITE.matcher(site).matches()) {
            throw new IllegalArgumentException("site '" + site
                    + "' is invalid: use 1-63 characters [A-Za-z0-9._-], starting with a letter or digit");
        }
    }

    public static void requireLabels(Map<String, String> labels) {
        if (labels.size() > MAX_LABELS) {
            throw new IllegalArgumentException("at most " + MAX_LABELS + " labels, got " + labels.size());
        }
        labels.forEach((k, v) -> {
            if (!LABEL_KEY.matcher(k).matches()) {
                throw new IllegalArgumentException("label key '" + k + "' is invalid: use 1-63 characters [A-Za-z0-9._/-]");
            }
            if (v.length() > MAX_LABEL_VALUE || v.chars().anyMatch(Character::isISOControl)) {
                throw new IllegalArgumentException("label '" + k + "' value must be at most " + MAX_LABEL_VALUE
                        + " characters without control characters");
            }
        });
    }
}
