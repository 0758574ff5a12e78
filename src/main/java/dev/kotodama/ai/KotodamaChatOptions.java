package dev.kotodama.ai;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import dev.kotodama.engine.GenerationRequest;
import dev.kotodama.engine.TokenLogprobs;
import dev.kotodama.engine.sampling.SamplingParameters;
import dev.kotodama.harmony.ReasoningEffort;
import org.jspecify.annotations.Nullable;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.model.tool.DefaultToolCallingChatOptions;
import org.springframework.ai.tool.ToolCallback;

/**
 * Options of {@link KotodamaChatModel}: sampling with transformers' meanings
 * ({@link SamplingParameters}), the token limit, stop sequences, Harmony's reasoning effort, and the
 * tools of Spring AI's tool calling. Immutable; {@link #builder()}, {@link #mutate()}, and
 * {@code a.mutate().combineWith(b.mutate())} for "b over a", as Spring AI 2.0 merges options. Unset
 * options are null and fall back, per option, to the model's defaults ({@link #modelDefaults()}).
 *
 * <p>Every option is checked when the options are built, so an invalid request fails with an
 * {@link IllegalArgumentException} that names the option before any generation starts.
 * {@code frequencyPenalty} and {@code presencePenalty} are OpenAI's (in [-2, 2], over the tokens generated
 * so far, control tokens aside); {@code logprobs} and {@code topLogprobs} ask for the answer tokens' log
 * probabilities ({@link KotodamaChatModel#LOGPROBS}), as OpenAI's options of those names.
 */
public final class KotodamaChatOptions extends DefaultToolCallingChatOptions {

    /** The token limit when none is set: this many, or what the model's context leaves, if less. */
    public static final int DEFAULT_MAX_TOKENS = 4096;

    /** The most alternatives {@code topLogprobs} may ask for (OpenAI's limit). */
    public static final int MAX_TOP_LOGPROBS = TokenLogprobs.MAX_TOP;

    private final @Nullable Double minP;

    private final @Nullable Long seed;

    private final @Nullable Double repetitionPenalty;

    private final @Nullable ReasoningEffort reasoningEffort;

    private final @Nullable Boolean logprobs;

    private final @Nullable Integer topLogprobs;

    private KotodamaChatOptions(Builder builder, @Nullable List<ToolCallback> toolCallbacks,
            @Nullable Map<String, Object> toolContext, @Nullable String model, @Nullable Double frequencyPenalty,
            @Nullable Integer maxTokens, @Nullable Double presencePenalty, @Nullable List<String> stopSequences,
            @Nullable Double temperature, @Nullable Integer topK, @Nullable Double topP) {
        super(toolCallbacks, toolContext, model, frequencyPenalty, maxTokens, presencePenalty, stopSequences, temperature,
                topK, topP);
        this.minP = builder.minP;
        this.seed = builder.seed;
        this.repetitionPenalty = builder.repetitionPenalty;
        this.reasoningEffort = builder.reasoningEffort;
        this.logprobs = builder.logprobs;
        this.topLogprobs = builder.topLogprobs;
        check();
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * The model's own defaults, below the properties and the request: the LLM-jp-4 cookbook's sampling
     * (temperature 0.7, top-p 0.9, no top-k, min-p or repetition penalty), medium reasoning, no stop
     * sequences; the token limit stays unset ({@link #DEFAULT_MAX_TOKENS} or the rest of the context).
     */
    public static KotodamaChatOptions modelDefaults() {
        SamplingParameters cookbook = SamplingParameters.llmJp4Cookbook();
        return builder().temperature(cookbook.temperature())
            .topP(cookbook.topP())
            .topK(cookbook.topK())
            .minP(cookbook.minP())
            .repetitionPenalty(cookbook.repetitionPenalty())
            .reasoningEffort(ReasoningEffort.MEDIUM)
            .stopSequences(List.of())
            .build();
    }

    /** Drops tokens less probable than {@code minP} times the most probable one; 0 turns it off. */
    public @Nullable Double getMinP() {
        return minP;
    }

    /** The sampler's seed; null for a random one. */
    public @Nullable Long getSeed() {
        return seed;
    }

    /** Transformers' repetition penalty over the prompt and the generated tokens; 1 turns it off. */
    public @Nullable Double getRepetitionPenalty() {
        return repetitionPenalty;
    }

    /** Harmony's reasoning effort, the system block's {@code Reasoning:} line. */
    public @Nullable ReasoningEffort getReasoningEffort() {
        return reasoningEffort;
    }

    /** Whether the answer's tokens come with their log probabilities ({@link KotodamaChatModel#LOGPROBS}). */
    public @Nullable Boolean getLogprobs() {
        return logprobs;
    }

    /** How many most probable alternatives each answer token's log probabilities list, 0 to 20. */
    public @Nullable Integer getTopLogprobs() {
        return topLogprobs;
    }

    /** The engine's sampling for these options; unset options take the model's defaults. */
    SamplingParameters samplingParameters() {
        SamplingParameters defaults = SamplingParameters.llmJp4Cookbook();
        return new SamplingParameters(valueOr(getTemperature(), defaults.temperature()),
                valueOr(getTopK(), defaults.topK()), valueOr(getTopP(), defaults.topP()), valueOr(minP, defaults.minP()),
                valueOr(repetitionPenalty, defaults.repetitionPenalty()), seed,
                valueOr(getFrequencyPenalty(), defaults.frequencyPenalty()),
                valueOr(getPresencePenalty(), defaults.presencePenalty()));
    }

    /** The engine's {@link GenerationRequest#logprobs()} for these options. */
    int engineLogprobs() {
        return Boolean.TRUE.equals(logprobs) ? valueOr(topLogprobs, 0) : GenerationRequest.NO_LOGPROBS;
    }

    private void check() {
        samplingParameters(); // checks temperature, topK, topP, minP and the penalties, naming them
        if (getMaxTokens() != null && getMaxTokens() < 1) {
            throw new IllegalArgumentException("maxTokens must be at least 1, got " + getMaxTokens());
        }
        if (getStopSequences() != null && getStopSequences().stream().anyMatch(String::isEmpty)) {
            throw new IllegalArgumentException("stopSequences must not contain an empty string");
        }
        if (topLogprobs != null && (topLogprobs < 0 || topLogprobs > MAX_TOP_LOGPROBS)) {
            throw new IllegalArgumentException("topLogprobs must be 0 to " + MAX_TOP_LOGPROBS + ", got " + topLogprobs);
        }
        if (topLogprobs != null && !Boolean.TRUE.equals(logprobs)) {
            throw new IllegalArgumentException("topLogprobs needs logprobs set to true");
        }
    }

    private static <T> T valueOr(@Nullable T value, T fallback) {
        return value != null ? value : fallback;
    }

    @Override
    public Builder mutate() {
        return builder().model(getModel())
            .frequencyPenalty(getFrequencyPenalty())
            .maxTokens(getMaxTokens())
            .presencePenalty(getPresencePenalty())
            .stopSequences(getStopSequences())
            .temperature(getTemperature())
            .topK(getTopK())
            .topP(getTopP())
            .toolCallbacks(getToolCallbacks())
            .toolContext(getToolContext())
            .minP(minP)
            .seed(seed)
            .repetitionPenalty(repetitionPenalty)
            .reasoningEffort(reasoningEffort)
            .logprobs(logprobs)
            .topLogprobs(topLogprobs);
    }

    @Override
    public boolean equals(@Nullable Object other) {
        return super.equals(other) && other instanceof KotodamaChatOptions that && Objects.equals(minP, that.minP)
                && Objects.equals(seed, that.seed) && Objects.equals(repetitionPenalty, that.repetitionPenalty)
                && reasoningEffort == that.reasoningEffort && Objects.equals(logprobs, that.logprobs)
                && Objects.equals(topLogprobs, that.topLogprobs);
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), minP, seed, repetitionPenalty, reasoningEffort, logprobs, topLogprobs);
    }

    @Override
    public String toString() {
        List<String> tools = getToolCallbacks() == null ? null
                : getToolCallbacks().stream().map(tool -> tool.getToolDefinition().name()).toList();
        return "KotodamaChatOptions[model=" + getModel() + ", temperature=" + getTemperature() + ", topP=" + getTopP()
                + ", topK=" + getTopK() + ", minP=" + minP + ", maxTokens=" + getMaxTokens() + ", stopSequences="
                + getStopSequences() + ", seed=" + seed + ", repetitionPenalty=" + repetitionPenalty
                + ", frequencyPenalty=" + getFrequencyPenalty() + ", presencePenalty=" + getPresencePenalty()
                + ", reasoningEffort=" + reasoningEffort + ", logprobs=" + logprobs + ", topLogprobs=" + topLogprobs
                + ", tools=" + tools + "]";
    }

    /**
     * Builds {@link KotodamaChatOptions}. {@link #combineWith} sets what the other builder sets, as
     * Spring AI's builders do; stop sequences and tools are merged without duplicates (a tool of the
     * same name is replaced), so combining with options that already include these is harmless.
     */
    public static final class Builder extends DefaultToolCallingChatOptions.Builder<Builder> {

        private @Nullable Double minP;

        private @Nullable Long seed;

        private @Nullable Double repetitionPenalty;

        private @Nullable ReasoningEffort reasoningEffort;

        private @Nullable Boolean logprobs;

        private @Nullable Integer topLogprobs;

        private Builder() {
        }

        public Builder logprobs(@Nullable Boolean logprobs) {
            this.logprobs = logprobs;
            return this;
        }

        public Builder topLogprobs(@Nullable Integer topLogprobs) {
            this.topLogprobs = topLogprobs;
            return this;
        }

        public Builder minP(@Nullable Double minP) {
            this.minP = minP;
            return this;
        }

        public Builder seed(@Nullable Long seed) {
            this.seed = seed;
            return this;
        }

        public Builder repetitionPenalty(@Nullable Double repetitionPenalty) {
            this.repetitionPenalty = repetitionPenalty;
            return this;
        }

        public Builder reasoningEffort(@Nullable ReasoningEffort reasoningEffort) {
            this.reasoningEffort = reasoningEffort;
            return this;
        }

        /**
         * @param reasoningEffort {@code low}, {@code medium} or {@code high} (any case), or null
         * @throws IllegalArgumentException for any other word
         */
        public Builder reasoningEffort(@Nullable String reasoningEffort) {
            this.reasoningEffort = reasoningEffort == null ? null : ReasoningEffort.of(reasoningEffort);
            return this;
        }

        @Override
        public Builder combineWith(ChatOptions.Builder<?> other) {
            super.combineWith(other);
            if (other instanceof Builder that) {
                minP = valueOr(that.minP, minP);
                seed = valueOr(that.seed, seed);
                repetitionPenalty = valueOr(that.repetitionPenalty, repetitionPenalty);
                reasoningEffort = valueOr(that.reasoningEffort, reasoningEffort);
                logprobs = valueOr(that.logprobs, logprobs);
                topLogprobs = valueOr(that.topLogprobs, topLogprobs);
            }
            if (stopSequences != null) {
                stopSequences = new ArrayList<>(new LinkedHashSet<>(stopSequences));
            }
            if (toolCallbacks != null) {
                Map<String, ToolCallback> byName = new LinkedHashMap<>();
                toolCallbacks.forEach(tool -> byName.put(tool.getToolDefinition().name(), tool));
                toolCallbacks = new ArrayList<>(byName.values());
            }
            return this;
        }

        /** @throws IllegalArgumentException naming the first invalid option */
        @Override
        public KotodamaChatOptions build() {
            return new KotodamaChatOptions(this, toolCallbacks, toolContext, model, frequencyPenalty, maxTokens,
                    presencePenalty, stopSequences, temperature, topK, topP);
        }
    }
}
