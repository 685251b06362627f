package dev.probemesh.coordinator.store;

/**
 * The store could not do what was asked (database unavailable, disk full, schema broken). Nothing
 * of the failed call was committed: a caller that gets this must not ack the results it passed.
 */
public final class StoreException extends RuntimeException {
    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
