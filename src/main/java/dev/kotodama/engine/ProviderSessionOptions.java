package dev.kotodama.engine;

import java.util.Objects;

import ai.onnxruntime.OrtSession.SessionOptions;

/**
 * Session options ready for {@code OrtEnvironment.createSession}, with the provider they run on.
 * Closing this closes the options.
 *
 * @param options the ONNX Runtime session options, owned by this value
 * @param choice the provider the options were set up for
 */
public record ProviderSessionOptions(SessionOptions options, ProviderChoice choice) implements AutoCloseable {

    public ProviderSessionOptions {
        Objects.requireNonNull(options, "options must not be null");
        Objects.requireNonNull(choice, "choice must not be null");
    }

    @Override
    public void close() {
        options.close();
    }
}
