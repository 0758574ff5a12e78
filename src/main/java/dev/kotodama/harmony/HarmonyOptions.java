package dev.kotodama.harmony;

import java.time.LocalDate;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

import org.jspecify.annotations.Nullable;

/**
 * The template's arguments besides messages and tools: what the system block says. Immutable; build
 * with {@link #builder()}, change with {@link #mutate()}.
 *
 * @param reasoningEffort the template's {@code reasoning_effort}
 * @param currentDate the template's {@code conversation_start_date}; null means today, from the
 *     renderer's clock (the template's {@code strftime_now})
 * @param modelIdentity the template's {@code model_identity}, the system block's first line
 * @param knowledgeCutoff the template's {@code knowledge_cutoff}
 * @param builtinTools the template's {@code builtin_tools}
 */
public record HarmonyOptions(ReasoningEffort reasoningEffort, @Nullable LocalDate currentDate, String modelIdentity,
        String knowledgeCutoff, Set<BuiltinTool> builtinTools) {

    public static final String DEFAULT_MODEL_IDENTITY = "You are LLM-jp-4, a large language model trained by LLM-jp.";

    public static final String DEFAULT_KNOWLEDGE_CUTOFF = "2025-12";

    public static final HarmonyOptions DEFAULTS = builder().build();

    public HarmonyOptions {
        Objects.requireNonNull(reasoningEffort, "reasoningEffort must not be null");
        Objects.requireNonNull(modelIdentity, "modelIdentity must not be null");
        Objects.requireNonNull(knowledgeCutoff, "knowledgeCutoff must not be null");
        Objects.requireNonNull(builtinTools, "builtinTools must not be null");
        builtinTools = builtinTools.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(builtinTools));
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder mutate() {
        return new Builder().reasoningEffort(reasoningEffort).currentDate(currentDate).modelIdentity(modelIdentity)
                .knowledgeCutoff(knowledgeCutoff).builtinTools(builtinTools);
    }

    public static final class Builder {

        private ReasoningEffort reasoningEffort = ReasoningEffort.MEDIUM;

        private @Nullable LocalDate currentDate;

        private String modelIdentity = DEFAULT_MODEL_IDENTITY;

        private String knowledgeCutoff = DEFAULT_KNOWLEDGE_CUTOFF;

        private Set<BuiltinTool> builtinTools = Set.of();

        private Builder() {
        }

        public Builder reasoningEffort(ReasoningEffort reasoningEffort) {
            this.reasoningEffort = Objects.requireNonNull(reasoningEffort, "reasoningEffort must not be null");
            return this;
        }

        public Builder currentDate(@Nullable LocalDate currentDate) {
            this.currentDate = currentDate;
            return this;
        }

        public Builder modelIdentity(String modelIdentity) {
            this.modelIdentity = Objects.requireNonNull(modelIdentity, "modelIdentity must not be null");
            return this;
        }

        public Builder knowledgeCutoff(String knowledgeCutoff) {
            this.knowledgeCutoff = Objects.requireNonNull(knowledgeCutoff, "knowledgeCutoff must not be null");
            return this;
        }

        public Builder builtinTools(Set<BuiltinTool> builtinTools) {
            this.builtinTools = Objects.requireNonNull(builtinTools, "builtinTools must not be null");
            return this;
        }

        public HarmonyOptions build() {
            return new HarmonyOptions(reasoningEffort, currentDate, modelIdentity, knowledgeCutoff, builtinTools);
        }
    }
}
