package dev.kotodama.engine;

import java.util.Objects;

import org.jspecify.annotations.Nullable;

/**
 * The execution provider a session actually runs on.
 *
 * @param used the provider in use, never {@link ExecutionProvider#AUTO}
 * @param fallbackReason why CUDA was not used although it was asked for, or {@code null} when the
 *     requested provider is the one in use
 */
public record ProviderChoice(ExecutionProvider used, @Nullable String fallbackReason) {

    public ProviderChoice {
        Objects.requireNonNull(used, "used must not be null");
        if (used == ExecutionProvider.AUTO) {
            throw new IllegalArgumentException("used must be a concrete provider (CUDA or CPU), not AUTO");
        }
    }
}
