package dev.kotodama.tokenizer;

/** A tokenizer could not be loaded from a model directory. Its message is one line naming the file. */
public class TokenizerLoadException extends RuntimeException {

    public TokenizerLoadException(String message) {
        super(message);
    }

    public TokenizerLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
