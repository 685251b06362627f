package dev.probemesh.cli;

/** --output values. */
public enum OutputFormat {
    text, json
}
