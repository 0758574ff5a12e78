package dev.kotodama.engine;

import org.jspecify.annotations.Nullable;

/** ONNX Runtime's exception messages run over many lines; users get the first. */
final class OrtErrors {

    private OrtErrors() {
    }

    static String firstLine(@Nullable String message) {
        return message == null ? "no reason given" : message.strip().lines().findFirst().orElse("no reason given");
    }
}
