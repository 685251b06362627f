package dev.probemesh.cli;

/** Exit codes scripts can rely on. */
public final class ExitCodes {
    public static final int OK = 0;
    /** The command ran, and found failures (e.g. diagnose found open verdicts with --fail-on-verdict). */
    public static final int FINDINGS = 1;
    /** Bad usage or bad input (flags, YAML): nothing was sent. */
    public static final int USAGE = 2;
    /** The coordinator could not be reached. */
    public static final int UNREACHABLE = 3;
    /** The coordinator refused: not found, invalid, precondition. */
    public static final int REFUSED = 4;
    /** Missing or rejected credentials. */
    public static final int AUTH = 5;
    /** Anything else. */
    public static final int ERROR = 10;

    private ExitCodes() {
    }
}
