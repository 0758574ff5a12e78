package dev.kotodama.ai;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import dev.kotodama.engine.EngineOptions;
import dev.kotodama.engine.sampling.SamplingParameters;
import dev.kotodama.harmony.ReasoningEffort;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import reactor.core.Disposable;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The chat model on the tiny export: its random weights give nonsense tokens, so tests that look at
 * the text force a trained model's tokens (golden replies) through the engine's sampler hook.
 */
class KotodamaChatModelIT {

    private static final Duration TIMEOUT = Duration.ofMinutes(1);

    private static final String REASONING = "The user asks a simple fact. Paris.";

    private static final String ANSWER = "The capital of France is Paris.";

    private static TinyModel tiny;

    private static KotodamaChatModel chatModel;

    @BeforeAll
    static void load() {
        tiny = new TinyModel();
        chatModel = tiny.chatModel(KotodamaChatOptions.builder().build());
    }

    @AfterAll
    static void close() throws Exception {
        tiny.close();
    }

    @BeforeEach
    void reset() {
        tiny.forced.reset();
    }

    private static Prompt capitalOfFrance(ChatOptions options) {
        return new Prompt("What is the capital of France?", options);
    }

    private static Prompt capitalOfFrance() {
        return capitalOfFrance(ChatOptions.builder().build());
    }

    private static String text(List<ChatResponse> chunks) {
        return chunks.stream().map(chunk -> chunk.getResult().getOutput().getText()).collect(Collectors.joining());
    }

    private static String metadata(List<ChatResponse> chunks, String key) {
        return chunks.stream()
            .map(chunk -> (String) chunk.getResult().getOutput().getMetadata().getOrDefault(key, ""))
            .collect(Collectors.joining());
    }

    private static void awaitIdle() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while ((tiny.engine.activeCount() > 0 || tiny.engine.reservedKvBytes() > 0) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(tiny.engine.activeCount()).isZero();
        assertThat(tiny.engine.reservedKvBytes()).isZero();
    }

    @Test
    void aStreamOnTheTinyModelGivesChunksThenOneWithUsageAndTheFinishReason() {
        List<ChatResponse> chunks = chatModel.stream(capitalOfFrance(KotodamaChatOptions.builder().temperature(0.0)
            .maxTokens(24).build())).collectList().block(TIMEOUT);

        assertThat(chunks).isNotEmpty();
        ChatResponse last = chunks.get(chunks.size() - 1);
        assertThat(last.getResult().getMetadata().getFinishReason()).isIn("stop", "length");
        assertThat(last.getMetadata().getUsage().getPromptTokens()).isEqualTo(tiny.forced.requests().get(0).promptIds().length);
        assertThat(last.getMetadata().getUsage().getCompletionTokens()).isBetween(1, 24);
        assertThat(chunks).allSatisfy(chunk -> {
            assertThat(chunk.getMetadata().getModel()).isEqualTo("tiny-fp32");
            assertThat(chunk.getMetadata().getId()).isEqualTo(last.getMetadata().getId());
        });
        assertThat(chunks.subList(0, chunks.size() - 1))
            .allSatisfy(chunk -> assertThat(chunk.getResult().getMetadata().getFinishReason()).isNull());
    }

    @Test
    void callReturnsTheFinalChannelAsTextAndTheWholeReasoningAsMetadata() {
        tiny.forced.then(GoldenReplies.generatedIds("english_single_turn_default_effort"));

        ChatResponse response = chatModel.call(capitalOfFrance());

        AssistantMessage message = response.getResult().getOutput();
        assertThat(message.getText()).isEqualTo(ANSWER);
        assertThat(message.getMetadata()).containsEntry("reasoningContent", REASONING).containsEntry("thinking", REASONING);
        assertThat(message.hasToolCalls()).isFalse();
        assertThat(response.getResult().getMetadata().getFinishReason()).isEqualTo("stop");
        assertThat(response.getMetadata().getUsage().getCompletionTokens()).isEqualTo(25); // the stop token is not counted
        assertThat(response.getMetadata().getModel()).isEqualTo("tiny-fp32");
    }

    @Test
    void aStreamCarriesEachChunksReasoningUnderThinkingAndTheReasoningSoFarUnderReasoningContent() {
        tiny.forced.then(GoldenReplies.generatedIds("english_single_turn_default_effort"));

        List<ChatResponse> chunks = chatModel.stream(capitalOfFrance()).collectList().block(TIMEOUT);

        assertThat(text(chunks)).isEqualTo(ANSWER);
        assertThat(metadata(chunks, "thinking")).isEqualTo(REASONING);
        List<String> soFar = chunks.stream()
            .map(chunk -> (String) chunk.getResult().getOutput().getMetadata().get("reasoningContent"))
            .filter(reasoning -> reasoning != null)
            .toList();
        assertThat(soFar).hasSizeGreaterThan(1).last().isEqualTo(REASONING);
        assertThat(chunks.get(chunks.size() - 1).getResult().getMetadata().getFinishReason()).isEqualTo("stop");
    }

    @Test
    void aStopSequenceCutsTheAnswerAndEndsTheGeneration() throws InterruptedException {
        int[] script = tiny.ids("<|channel|>final<|message|>Hello there. Goodbye");
        tiny.forced.then(ForcedTokens.Script.endless(script, tiny.ids(" again")[0]));
        int sampledBefore = tiny.forced.sampled();

        ChatResponse response = chatModel.call(capitalOfFrance(KotodamaChatOptions.builder().stopSequences(List.of("Good"))
            .maxTokens(2000).build()));

        assertThat(response.getResult().getOutput().getText()).isEqualTo("Hello there. ");
        assertThat(response.getResult().getMetadata().getFinishReason()).isEqualTo("stop");
        assertThat(tiny.engine.activeCount()).as("the generation's slot is free when the reply ends").isZero();
        assertThat(tiny.engine.reservedKvBytes()).isZero();
        assertThat(tiny.forced.sampled() - sampledBefore).as("tokens sampled: the script, then a step or two")
            .isLessThanOrEqualTo(script.length + 2);
    }

    @Test
    void aStreamEndsOnlyOnceItsSlotIsFreeSoTheNextRequestIsNotRefused() throws Exception {
        try (TinyModel oneSlot = new TinyModel(new EngineOptions(1L << 30, 0, EngineOptions.UNLIMITED, 1, 128))) {
            KotodamaChatModel model = oneSlot.chatModel(KotodamaChatOptions.builder().build());
            for (int i = 0; i < 20; i++) {
                oneSlot.forced.then(i % 2 == 0
                        ? ForcedTokens.Script.endless(oneSlot.ids("<|channel|>final<|message|>Hello there. Goodbye"),
                            oneSlot.ids(" again")[0])
                        : ForcedTokens.Script.of(oneSlot.ids("<|channel|>final<|message|>Hello<|return|>")));
                List<ChatResponse> chunks = model.stream(capitalOfFrance(KotodamaChatOptions.builder()
                    .stopSequences(List.of("Good")).maxTokens(2000).build())).collectList().block(TIMEOUT);

                assertThat(text(chunks)).isIn("Hello there. ", "Hello");
                assertThat(oneSlot.engine.activeCount()).as("reply %d ended with its slot free", i).isZero();
            }
        }
    }

    @Test
    void disposingTheStreamStopsTheGenerationWithinOneStep() throws InterruptedException {
        tiny.forced.then(ForcedTokens.Script.endless(tiny.ids("<|channel|>final<|message|>Hello"), tiny.ids(" again")[0]));
        CountDownLatch firstChunk = new CountDownLatch(1);
        AtomicInteger chunks = new AtomicInteger();

        Disposable subscription = chatModel
            .stream(capitalOfFrance(KotodamaChatOptions.builder().maxTokens(3000).build()))
            .subscribe(chunk -> {
                chunks.incrementAndGet();
                firstChunk.countDown();
            });
        assertThat(firstChunk.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(tiny.engine.activeCount()).isEqualTo(1);
        int sampledAtDisposal = tiny.forced.sampled();
        subscription.dispose();

        awaitIdle();
        assertThat(tiny.forced.sampled() - sampledAtDisposal).isLessThanOrEqualTo(1);
        assertThat(tiny.forced.sampled()).isLessThan(3000);
    }

    @Test
    void invalidOptionsFailBeforeAnyGeneration() {
        assertThatIllegalArgumentException()
            .isThrownBy(() -> chatModel.call(capitalOfFrance(ChatOptions.builder().temperature(-1.0).build())))
            .withMessageStartingWith("temperature must be a finite number >= 0");
        assertThatIllegalArgumentException()
            .isThrownBy(() -> chatModel.stream(capitalOfFrance(ChatOptions.builder().topP(1.5).build())))
            .withMessage("topP must be in (0, 1], got 1.5");
        assertThatIllegalArgumentException()
            .isThrownBy(() -> chatModel.call(capitalOfFrance(ChatOptions.builder().maxTokens(0).build())))
            .withMessage("maxTokens must be at least 1, got 0");

        assertThat(tiny.forced.requests()).isEmpty();
        assertThat(tiny.engine.activeCount()).isZero();
    }

    @Test
    void aRequestBeyondTheContextFailsWithTheChatModelsOwnExceptionNamingItsReason() {
        Prompt tooLong = capitalOfFrance(ChatOptions.builder().maxTokens(Integer.MAX_VALUE).build());

        assertThatThrownBy(() -> chatModel.call(tooLong)).isInstanceOfSatisfying(KotodamaChatException.class,
                ex -> assertThat(ex.reason()).isEqualTo(KotodamaChatException.Reason.CONTEXT_LENGTH_EXCEEDED));
        assertThatThrownBy(() -> chatModel.stream(tooLong).blockLast()).isInstanceOfSatisfying(
                KotodamaChatException.class,
                ex -> assertThat(ex.reason()).isEqualTo(KotodamaChatException.Reason.CONTEXT_LENGTH_EXCEEDED));
        assertThat(tiny.engine.activeCount()).isZero();
    }

    @Test
    void theRequestsOptionsReachTheEngineOverTheModelsDefaultOptions() {
        KotodamaChatModel configured = tiny.chatModel(KotodamaChatOptions.builder().model("llm-jp-4-test").temperature(0.3)
            .maxTokens(8).reasoningEffort(ReasoningEffort.LOW).build());

        ChatResponse response = configured.call(capitalOfFrance(KotodamaChatOptions.builder().topK(5).seed(7L)
            .reasoningEffort("high").build()));

        var request = tiny.forced.requests().get(0);
        assertThat(request.sampling()).isEqualTo(new SamplingParameters(0.3, 5, 0.9, 0, 1, 7L));
        assertThat(request.maxTokens()).isEqualTo(8);
        assertThat(tiny.prompt(0)).contains("Reasoning: high");
        assertThat(response.getMetadata().getModel()).isEqualTo("llm-jp-4-test");
        assertThat(configured.getOptions().getTemperature()).isEqualTo(0.3);
    }
}
