package dev.kotodama.ai;

import java.nio.file.Path;
import java.util.Objects;

/**
 * The model directory that this application serves.
 *
 * @param directory the exported model directory
 * @param demo whether it is the embedded demo model (no {@code kotodama.model-dir} was set)
 */
public record ServedModel(Path directory, boolean demo) {

    public ServedModel {
        Objects.requireNonNull(directory, "directory must not be null");
    }
}
