package dev.kotodama.engine;

import java.util.List;
import java.util.Objects;

import org.jspecify.annotations.Nullable;

/**
 * Kotodama's own facts about an exported model directory ({@code kotodama.json}, written by
 * {@code export/kotodama-export convert}; docs/model-directory.md).
 *
 * @param target the execution provider the export was built for: {@code cpu} or {@code cuda}
 * @param precision {@code fp32}, {@code fp16}, {@code bf16} or {@code int4}
 * @param kvCacheType element type of the KV cache the graph reads and writes
 * @param contextLength positions the graph's rotary caches cover
 * @param vocabularySize width of the logits
 * @param stopTokenIds ids that end a generation (end of sequence, Harmony's return and call)
 * @param chatFormat {@code harmony}, or {@code template} for another chat template
 * @param customOps the directory's own library of custom operators, which its graph needs (the fused
 *     mixture of experts of {@code convert --moe-kernel fused}), or null
 */
public record ModelManifest(String target, String precision, TensorType kvCacheType, int contextLength,
        int vocabularySize, List<Integer> stopTokenIds, String chatFormat, @Nullable CustomOps customOps) {

    /**
     * @param library the library's file name in the directory
     * @param platform the platform it was built for, as {@code linux-x86_64}
     */
    public record CustomOps(String library, String platform) {

        public CustomOps {
            Objects.requireNonNull(library, "library must not be null");
            Objects.requireNonNull(platform, "platform must not be null");
        }
    }

    public ModelManifest {
        Objects.requireNonNull(target, "target must not be null");
        Objects.requireNonNull(precision, "precision must not be null");
        Objects.requireNonNull(kvCacheType, "kvCacheType must not be null");
        Objects.requireNonNull(chatFormat, "chatFormat must not be null");
        stopTokenIds = List.copyOf(stopTokenIds);
        if (contextLength < 1 || vocabularySize < 1) {
            throw new IllegalArgumentException(
                    "contextLength and vocabularySize must be positive, got " + contextLength + " and " + vocabularySize);
        }
    }
}
