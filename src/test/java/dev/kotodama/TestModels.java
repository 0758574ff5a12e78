package dev.kotodama;

import java.nio.file.Files;
import java.nio.file.Path;

import dev.kotodama.tokenizer.LlmJpTokenizer;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The models and references that export/tests/java_fixtures.py makes before the integration tests
 * (Maven's pre-integration-test phase), found through the system property {@code kotodama.test-models}.
 */
public final class TestModels {

    public static final String PROPERTY = "kotodama.test-models";

    private static @Nullable LlmJpTokenizer tokenizer;

    private TestModels() {
    }

    /** The fixture directory; fails with what to run when it is missing. */
    public static Path root() {
        String configured = System.getProperty(PROPERTY);
        if (configured == null || !Files.isDirectory(Path.of(configured))) {
            throw new IllegalStateException("test models not found (system property " + PROPERTY + " = " + configured
                    + "); run ./mvnw verify, which makes them, or export/kotodama-export --python "
                    + "export/tests/java_fixtures.py DIR and pass -D" + PROPERTY + "=DIR");
        }
        return Path.of(configured);
    }

    public static Path resolve(String name) {
        return root().resolve(name);
    }

    /** The LLM-jp-4 tokenizer of the fixtures, loaded once for the test JVM and never closed. */
    public static synchronized LlmJpTokenizer tokenizer() {
        if (tokenizer == null) {
            tokenizer = LlmJpTokenizer.load(resolve("tokenizer"));
        }
        return tokenizer;
    }

    public static JsonNode json(String name) {
        return JsonMapper.shared().readTree(resolve(name).toFile());
    }
}
