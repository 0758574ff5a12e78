package dev.kotodama.engine;

/**
 * A model directory that cannot be used. The message is one line that names the directory and says
 * what to fix.
 */
public class ModelDirectoryException extends RuntimeException {

    public ModelDirectoryException(String message) {
        super(message);
    }

    public ModelDirectoryException(String message, Throwable cause) {
        super(message, cause);
    }
}
