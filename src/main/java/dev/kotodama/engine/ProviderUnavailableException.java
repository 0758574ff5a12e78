package dev.kotodama.engine;

import java.util.Objects;

/** An execution provider that was asked for could not be loaded. Its message is one line. */
public class ProviderUnavailableException extends RuntimeException {

    private final String reason;

    /**
     * @param provider the provider that did not load
     * @param reason one line saying why it did not load
     * @param remedy one line saying what would make it load
     */
    public ProviderUnavailableException(ExecutionProvider provider, String reason, String remedy) {
        super(Objects.requireNonNull(provider, "provider must not be null")
                + " execution provider unavailable: "
                + Objects.requireNonNull(reason, "reason must not be null")
                + "; " + Objects.requireNonNull(remedy, "remedy must not be null"));
        this.reason = reason;
    }

    /** Why the provider did not load, without the remedy. */
    public String reason() {
        return reason;
    }
}
