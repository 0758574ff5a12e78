package dev.kotodama.engine;

import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.stream.Collectors;

/** The ONNX Runtime execution provider a session is asked to run on. */
public enum ExecutionProvider {

    /** CUDA if its provider loads, otherwise the CPU provider with a warning. */
    AUTO,

    /** CUDA or nothing: fails when the CUDA provider does not load. */
    CUDA,

    /** The CPU provider; CUDA is never touched. */
    CPU;

    /**
     * Parses a provider name, ignoring case and surrounding white space.
     *
     * @throws IllegalArgumentException naming the allowed values when {@code value} is none of them
     */
    public static ExecutionProvider parse(String value) {
        Objects.requireNonNull(value, "value must not be null");
        String name = value.strip().toUpperCase(Locale.ROOT);
        return Arrays.stream(values())
                .filter(provider -> provider.name().equals(name))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException(
                        "Unknown execution provider '" + value + "': expected one of " + allowedValues()));
    }

    private static String allowedValues() {
        return Arrays.stream(values())
                .map(provider -> provider.name().toLowerCase(Locale.ROOT))
                .collect(Collectors.joining(", "));
    }
}
