package dev.kotodama.engine;

/** The KV-cache budget cannot hold the batch the engine is asked to run: a configuration to change. */
public final class KvBudgetException extends IllegalArgumentException {

    public KvBudgetException(String message) {
        super(message);
    }
}
