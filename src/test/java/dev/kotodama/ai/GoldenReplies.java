package dev.kotodama.ai;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The model's replies in src/test/resources/harmony/golden.json (export/tests/harmony_fixtures.py):
 * the ids a trained LLM-jp-4 would generate, to force through the engine's sampler hook.
 */
final class GoldenReplies {

    private static final JsonNode ROOT = read();

    private GoldenReplies() {
    }

    /** The generated ids of the named conversation's reply, ending with its stop token. */
    static int[] generatedIds(String conversation) {
        for (JsonNode entry : ROOT.path("conversations")) {
            if (entry.path("name").asString().equals(conversation)) {
                JsonNode ids = entry.path("reply").path("generated_ids");
                int[] result = new int[ids.size()];
                for (int i = 0; i < result.length; i++) {
                    result[i] = ids.get(i).asInt();
                }
                return result;
            }
        }
        throw new IllegalArgumentException("no golden conversation named " + conversation);
    }

    private static JsonNode read() {
        try (InputStream in = GoldenReplies.class.getResourceAsStream("/harmony/golden.json")) {
            if (in == null) {
                throw new IllegalStateException("/harmony/golden.json is missing from the test classpath");
            }
            return JsonMapper.builder().build().readTree(in);
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
