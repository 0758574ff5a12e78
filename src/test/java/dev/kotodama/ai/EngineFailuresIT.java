package dev.kotodama.ai;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import ai.onnxruntime.OrtEnvironment;
import dev.kotodama.demo.DemoModel;
import dev.kotodama.engine.Decoder;
import dev.kotodama.engine.Engine;
import dev.kotodama.engine.EngineException;
import dev.kotodama.engine.EngineOptions;
import dev.kotodama.engine.ExecutionProvider;
import dev.kotodama.engine.GenerationEvent;
import dev.kotodama.engine.GenerationRequest;
import dev.kotodama.engine.ModelDirectory;
import dev.kotodama.engine.SessionOptionsFactory;
import dev.kotodama.engine.sampling.Sampler;
import dev.kotodama.engine.sampling.SamplingParameters;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.health.contributor.Status;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Failures inside the engine, on the demo model with scripted samplers: a generation that fails (out of
 * memory at its start, an exception or an error in a step) ends alone and the engine goes on; an engine
 * thread that ends fails every waiting and new generation at once, and the model's health is DOWN.
 */
class EngineFailuresIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private static final int[] PROMPT = { 100, 200, 300, 400 };

    /** The generations with this many max tokens are the ones that fail. */
    private static final int FAILING = 7;

    private Engine engine;

    private Engine engine(long kvBudgetBytes, Function<GenerationRequest, Sampler> samplers) {
        return engine(new EngineOptions(kvBudgetBytes, 8), samplers);
    }

    private Engine engine(EngineOptions options, Function<GenerationRequest, Sampler> samplers) {
        ModelDirectory directory = ModelDirectory.open(DemoModel.extract(DemoModel.defaultCache()));
        Decoder decoder = Decoder.load(directory, new SessionOptionsFactory(OrtEnvironment.getEnvironment(), 2),
                ExecutionProvider.CPU);
        engine = new Engine(decoder, options, samplers);
        return engine;
    }

    @AfterEach
    void close() throws Exception {
        if (engine != null) {
            engine.close();
        }
    }

    private static GenerationRequest request(int maxTokens) {
        return new GenerationRequest(PROMPT, SamplingParameters.greedy(), maxTokens);
    }

    private static Mono<List<Integer>> tokens(Flux<GenerationEvent> events) {
        return events.ofType(GenerationEvent.Token.class).map(GenerationEvent.Token::tokenId).collectList();
    }

    /** Samples token 500 at every step; a failing generation does what {@code failure} says at its third step. */
    private static Function<GenerationRequest, Sampler> failingAtTheThirdStep(String failure) {
        return request -> {
            int[] step = { 0 };
            return (logits, history) -> {
                if (request.maxTokens() == FAILING && step[0]++ == 2) {
                    switch (failure) {
                        case "an out-of-range token id" -> {
                            return -1;
                        }
                        case "OutOfMemoryError" -> throw new OutOfMemoryError("Direct buffer memory");
                        default -> throw new StackOverflowError();
                    }
                }
                return 500;
            };
        };
    }

    @Test
    void aGenerationThatRunsOutOfDirectMemoryAtItsStartFailsAloneAndTheEngineGoesOn() {
        Engine engine = engine(1L << 30, request -> {
            if (request.maxTokens() == FAILING) { // the sampler is made beside the KV cache's allocateDirect
                throw new OutOfMemoryError("Cannot reserve 4294967296 bytes of direct buffer memory");
            }
            return (logits, history) -> 500;
        });
        Mono<List<Integer>> running = tokens(engine.generate(request(60))).cache();
        running.subscribe();

        assertThatThrownBy(() -> tokens(engine.generate(request(FAILING))).block(TIMEOUT))
            .isInstanceOf(EngineException.class).hasMessageContaining("OutOfMemoryError");
        assertThat(running.block(TIMEOUT)).hasSize(60);
        assertThat(tokens(engine.generate(request(5))).block(TIMEOUT)).hasSize(5);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = { "an out-of-range token id", "OutOfMemoryError", "StackOverflowError" })
    void aFailureInsideOneStepEndsThatGenerationWithAnErrorAndTheOthersGoOn(String failure) throws InterruptedException {
        Engine engine = engine(1L << 30, failingAtTheThirdStep(failure));
        Mono<List<Integer>> running = tokens(engine.generate(request(60))).cache();
        running.subscribe();

        assertThatThrownBy(() -> tokens(engine.generate(request(FAILING))).block(TIMEOUT))
            .isInstanceOf(EngineException.class);
        assertThat(running.block(TIMEOUT)).hasSize(60);
        assertThat(tokens(engine.generate(request(5))).block(TIMEOUT)).hasSize(5);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5); // a stream completes just before its release
        while (engine.reservedKvBytes() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(engine.activeCount()).isZero();
        assertThat(engine.reservedKvBytes()).isZero();
    }

    @Test
    void whenTheEngineThreadEndsEveryWaitingAndNewGenerationFailsAtOnceAndTheModelIsDown() throws Exception {
        CountDownLatch queued = new CountDownLatch(1);
        ModelDirectory directory = ModelDirectory.open(DemoModel.extract(DemoModel.defaultCache()));
        long oneGeneration = (PROMPT.length + 150L) * directory.decoder().kvBytesPerToken(directory.manifest().kvCacheType());
        Engine engine = engine(new EngineOptions(oneGeneration, 8, EngineOptions.UNLIMITED, 1, 128), request -> {
            int[] step = { 0 };
            return (logits, history) -> {
                if (request.maxTokens() == FAILING && step[0]++ == 2) {
                    try {
                        queued.await(30, TimeUnit.SECONDS);
                    }
                    catch (InterruptedException ex) {
                        Thread.currentThread().interrupt();
                    }
                    throw new OutOfMemoryError("Direct buffer memory");
                }
                return 500;
            };
        });
        EngineWarmUp warmUp = new EngineWarmUp(engine);
        warmUp.run();
        ModelHealthIndicator health = new ModelHealthIndicator(engine, warmUp);
        EngineHealthIndicator liveness = new EngineHealthIndicator(engine);
        assertThat(health.health(true).getStatus()).isEqualTo(Status.UP);
        assertThat(liveness.health(true).getStatus()).isEqualTo(Status.UP);
        // failing this generation fails in turn (an Error while handling the failure): the engine thread ends
        engine.generate(request(FAILING)).subscribe(event -> { }, error -> {
            throw new StackOverflowError();
        });
        Mono<List<Integer>> waiting = tokens(engine.generate(request(150))).cache();
        waiting.subscribe(tokens -> { }, error -> { });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (engine.queuedCount() < 1 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(engine.queuedCount()).isOne();
        queued.countDown();

        assertThatThrownBy(() -> waiting.block(Duration.ofSeconds(10))).isInstanceOf(EngineException.class)
            .hasMessageContaining("the server needs a restart");
        long started = System.nanoTime();
        assertThatThrownBy(() -> tokens(engine.generate(request(5))).block(Duration.ofSeconds(5)))
            .isInstanceOf(EngineException.class).hasMessageContaining("the server needs a restart");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(1));
        assertThat(health.health(true).getStatus()).isEqualTo(Status.DOWN);
        assertThat(health.health(true).getDetails().get("reason").toString()).contains("the engine thread stopped")
            .contains("StackOverflowError");
        assertThat(liveness.health(true).getStatus()).as("liveness, so that a supervisor restarts the process")
            .isEqualTo(Status.DOWN);
    }
}
