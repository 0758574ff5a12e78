package dev.kotodama.engine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import ai.onnxruntime.OrtEnvironment;
import dev.kotodama.TestModels;
import dev.kotodama.engine.sampling.SamplingParameters;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import tools.jackson.databind.JsonNode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Concurrency, admission, cancellation and sampling of the engine on the tiny fp32 export. */
class EngineIT {

    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    private Engine engine;

    private Engine engine(long kvBudgetBytes, int maxQueued) {
        return engine(new EngineOptions(kvBudgetBytes, maxQueued));
    }

    private Engine engine(EngineOptions options) {
        ModelDirectory directory = ModelDirectory.open(TestModels.resolve("tiny-fp32"));
        Decoder decoder = Decoder.load(directory, new SessionOptionsFactory(OrtEnvironment.getEnvironment(), 2),
                ExecutionProvider.CPU);
        engine = new Engine(decoder, options);
        return engine;
    }

    @AfterEach
    void close() throws Exception {
        if (engine != null) {
            engine.close();
        }
    }

    private static List<JsonNode> references() {
        List<JsonNode> cases = new ArrayList<>();
        TestModels.json("generation-reference.json").path("cases").forEach(cases::add);
        return cases;
    }

    private static int[] ints(JsonNode array) {
        return java.util.stream.IntStream.range(0, array.size()).map(i -> array.path(i).asInt()).toArray();
    }

    private static List<Integer> tokens(Flux<GenerationEvent> events) {
        return events.ofType(GenerationEvent.Token.class).map(GenerationEvent.Token::tokenId).collectList().block(TIMEOUT);
    }

    private static GenerationRequest greedy(int[] prompt, int maxTokens) {
        return new GenerationRequest(prompt, SamplingParameters.greedy(), maxTokens);
    }

    @Test
    void sixteenSimultaneousGreedyGenerationsEachGiveTheirTransformersTokens() {
        Engine engine = engine(new EngineOptions(1L << 30, 16, EngineOptions.UNLIMITED, 16, 7)); // 7: chunks of odd sizes
        List<JsonNode> cases = references();
        List<Flux<GenerationEvent>> streams = new ArrayList<>();
        List<int[]> expected = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            JsonNode reference = cases.get(i % cases.size());
            int length = 16 + 3 * i; // different lengths, so generations start and end at different steps
            streams.add(engine.generate(greedy(ints(reference.path("prompt_ids")), length)));
            expected.add(Arrays.copyOf(ints(reference.path("greedy_tokens")), length));
        }

        List<List<Integer>> results = Flux.fromIterable(streams)
            .flatMapSequential(stream -> stream.ofType(GenerationEvent.Token.class).map(GenerationEvent.Token::tokenId).collectList(), 16)
            .collectList()
            .block(TIMEOUT);

        for (int i = 0; i < 16; i++) {
            assertThat(results.get(i)).as("generation %d", i).containsExactly(Arrays.stream(expected.get(i)).boxed().toArray(Integer[]::new));
        }
    }

    @Test
    void aGenerationWhoseSamplingFailsEndsWithAnErrorAndTheEngineGoesOn() throws Exception {
        ModelDirectory directory = ModelDirectory.open(TestModels.resolve("tiny-fp32"));
        Decoder decoder = Decoder.load(directory, new SessionOptionsFactory(OrtEnvironment.getEnvironment(), 2),
                ExecutionProvider.CPU);
        engine = new Engine(decoder, new EngineOptions(1L << 30, 4), request -> {
            int[] step = { 0 };
            return (logits, history) -> {
                if (request.maxTokens() == 5 && step[0]++ == 3) {
                    throw new IllegalArgumentException("a NaN logit"); // what the samplers say of NaN logits
                }
                return 100;
            };
        });
        int[] prompt = ints(references().get(0).path("prompt_ids"));

        assertThatThrownBy(() -> tokens(engine.generate(greedy(prompt, 5))))
            .isInstanceOf(EngineException.class)
            .hasMessageContaining("sampling failed: a NaN logit");
        awaitIdle(engine);
        assertThat(engine.reservedKvBytes()).isZero();
        assertThat(tokens(engine.generate(greedy(prompt, 8)))).hasSize(8);
    }

    @Test
    void theFirstRequestBeyondTheQueueIsBusyAndCancellingFreesSlots() throws Exception {
        int[] prompt = ints(references().get(0).path("prompt_ids"));
        long perGeneration = (prompt.length + 2000L) * kvBytesPerToken();
        Engine engine = engine(new EngineOptions(2 * perGeneration, 2, EngineOptions.UNLIMITED, 2, 128));
        CountDownLatch started = new CountDownLatch(2);
        List<Disposable> running = new ArrayList<>();
        for (int i = 0; i < 4; i++) { // 2 admitted, 2 queued
            running.add(engine.generate(greedy(prompt, 2000)).subscribe(event -> started.countDown()));
        }
        assertThat(started.await(1, TimeUnit.MINUTES)).isTrue();

        assertThatThrownBy(() -> tokens(engine.generate(greedy(prompt, 2000))))
            .isInstanceOf(EngineException.Busy.class)
            .hasMessageContaining("retry later");

        running.forEach(Disposable::dispose); // cancel all four mid-stream
        awaitIdle(engine);
        assertThat(engine.reservedKvBytes()).isZero();
        assertThat(tokens(engine.generate(greedy(prompt, 8)))).hasSize(8);
    }

    @Test
    void aGenerationSubmittedTheMomentTheLastOneCompletesFindsItsSlotFree() throws Exception {
        int[] prompt = ints(references().get(0).path("prompt_ids"));
        Engine engine = engine(new EngineOptions(1L << 30, 0, EngineOptions.UNLIMITED, 1, 128)); // one slot, no queue
        CompletableFuture<List<Integer>> next = new CompletableFuture<>();
        tokens(engine.generate(greedy(prompt, 4)).doOnComplete(() -> engine.generate(greedy(prompt, 4))
            .ofType(GenerationEvent.Token.class).map(GenerationEvent.Token::tokenId).collectList()
            .subscribe(next::complete, next::completeExceptionally)));
        assertThat(next.get(2, TimeUnit.MINUTES)).as("the next generation, not a busy refusal").hasSize(4);
    }

    @Test
    void aRaisedStopSignalEndsTheGenerationWithAStopFinishAfterFreeingItsSlot() throws Exception {
        int[] prompt = ints(references().get(0).path("prompt_ids"));
        Engine engine = engine(new EngineOptions(1L << 30, 0, EngineOptions.UNLIMITED, 1, 128));
        StopSignal stop = new StopSignal();
        List<GenerationEvent> events = new CopyOnWriteArrayList<>();
        List<Integer> activeAtCompletion = new CopyOnWriteArrayList<>();

        engine.generate(greedy(prompt, 2000), stop)
            .doOnNext(event -> {
                events.add(event);
                if (event instanceof GenerationEvent.Token token && token.index() == 2) {
                    stop.raise(); // on the engine thread, as the token is emitted: the next step ends it
                }
            })
            .doOnComplete(() -> activeAtCompletion.add(engine.activeCount()))
            .blockLast(TIMEOUT);

        assertThat(events).hasSize(4).last().isInstanceOfSatisfying(GenerationEvent.Finished.class,
                finished -> assertThat(finished.reason()).isEqualTo(FinishReason.STOP));
        assertThat(activeAtCompletion).containsExactly(0);
        assertThat(tokens(engine.generate(greedy(prompt, 4)))).as("the slot serves the next one").hasSize(4);
    }

    @Test
    void closingTheEngineWithoutADrainFailsWhatRunsInsteadOfLeavingItHanging() throws Exception {
        int[] prompt = ints(references().get(0).path("prompt_ids"));
        Engine engine = engine(1L << 30, 4);
        CountDownLatch flowing = new CountDownLatch(1);
        CompletableFuture<Throwable> ended = new CompletableFuture<>();
        engine.generate(greedy(prompt, 3000))
            .subscribe(event -> flowing.countDown(), ended::complete, () -> ended.complete(null));
        assertThat(flowing.await(1, TimeUnit.MINUTES)).isTrue();

        engine.close();
        this.engine = null;

        assertThat(ended.get(1, TimeUnit.MINUTES)).isInstanceOf(EngineException.class).hasMessageContaining("shut down");
    }

    @Test
    void cancellingEightOfTenMidStreamLetsNewOnesIn() throws Exception {
        int[] prompt = ints(references().get(1).path("prompt_ids"));
        Engine engine = engine(new EngineOptions(1L << 30, 0, EngineOptions.UNLIMITED, 10, 128));
        List<CountDownLatch> flowing = new ArrayList<>();
        List<Disposable> generations = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            CountDownLatch firstToken = new CountDownLatch(1);
            flowing.add(firstToken);
            generations.add(engine.generate(greedy(prompt, 1500)).subscribe(event -> firstToken.countDown()));
        }
        for (CountDownLatch firstToken : flowing) {
            assertThat(firstToken.await(1, TimeUnit.MINUTES)).isTrue();
        }
        generations.subList(0, 8).forEach(Disposable::dispose);

        awaitActive(engine, 2);
        assertThat(tokens(engine.generate(greedy(prompt, 4)))).hasSize(4);
        generations.forEach(Disposable::dispose);
    }

    @Test
    void aThousandCancelCyclesLeaveResidentMemoryFlat() throws Exception {
        int[] prompt = ints(references().get(2).path("prompt_ids"));
        Engine engine = engine(1L << 30, 4);
        Runnable cycle = () -> engine.generate(greedy(prompt, 500)).take(2).blockLast(TIMEOUT);
        for (int i = 0; i < 1000; i++) { // native allocators reach their high-water mark in ~800 cycles here
            cycle.run();
        }
        long before = residentKbAfterGc();
        for (int i = 0; i < 1000; i++) {
            cycle.run();
        }
        awaitIdle(engine);
        long after = residentKbAfterGc();
        System.out.printf("RSS before %d kB, after 1000 cancel cycles %d kB%n", before, after);

        // each cycle allocates a KV cache of 0.5 MB: a leak of them would add 500 MB
        assertThat((double) after).isLessThanOrEqualTo(before * 1.05);
        assertThat(engine.reservedKvBytes()).isZero();
    }

    @Test
    void theSameSeedGivesTheSameTokensAndAnotherSeedOthers() throws Exception {
        int[] prompt = ints(references().get(0).path("prompt_ids"));
        SamplingParameters sampling = SamplingParameters.llmJp4Cookbook().withSeed(42L);

        // each on a fresh engine: a prompt whose prefix is reused runs its last token in a run of another
        // shape, whose float rounding can move a sampled token at a near tie of this random model
        List<Integer> first = tokens(engine(1L << 30, 4).generate(new GenerationRequest(prompt, sampling, 48)));
        engine.close();
        Engine engine = engine(1L << 30, 4);
        List<Integer> second = tokens(engine.generate(new GenerationRequest(prompt, sampling, 48)));
        List<Integer> other = tokens(engine.generate(new GenerationRequest(prompt, sampling.withSeed(7L), 48)));

        assertThat(second).isEqualTo(first);
        assertThat(other).isNotEqualTo(first);
    }

    @Test
    void aSecondTurnReusesTheFirstTurnsCacheAndGivesTheTokensOfAFullPrefill() throws Exception {
        int[] prompt = ints(references().get(0).path("prompt_ids"));
        int[] other = ints(references().get(1).path("prompt_ids"));
        Engine engine = engine(new EngineOptions(1L << 30, 4, EngineOptions.UNLIMITED, 2, 5));
        List<Integer> answer = tokens(engine.generate(greedy(prompt, 20)));
        tokens(engine.generate(greedy(other, 3))); // another conversation in the other row meanwhile
        int[] next = java.util.stream.IntStream.concat(java.util.stream.IntStream.concat(Arrays.stream(prompt),
                answer.stream().mapToInt(Integer::intValue)), Arrays.stream(other, 0, 6)).toArray();
        long reusedBefore = engine.reusedPromptTokens();

        List<Integer> reused = tokens(engine.generate(greedy(next, 24)));

        // the first turn's 20th token was sampled, never run: the cache holds the prompt and 19 answer tokens
        assertThat(engine.reusedPromptTokens() - reusedBefore).isEqualTo(prompt.length + 19);
        engine.close();
        List<Integer> full = tokens(engine(1L << 30, 4).generate(greedy(next, 24)));
        assertThat(reused).isEqualTo(full);
    }

    @Test
    void generationsRunTogetherInOneBatchUpToMaxBatchAndTheRestWait() throws Exception {
        int[] prompt = ints(references().get(2).path("prompt_ids"));
        Engine engine = engine(new EngineOptions(1L << 30, 8, EngineOptions.UNLIMITED, 3, 128));
        CountDownLatch flowing = new CountDownLatch(3);
        List<Disposable> running = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            running.add(engine.generate(greedy(prompt, 3000)).subscribe(event -> flowing.countDown()));
        }
        assertThat(flowing.await(1, TimeUnit.MINUTES)).isTrue();
        Thread.sleep(200);

        assertThat(engine.activeCount()).isEqualTo(3);
        assertThat(engine.queuedCount()).isEqualTo(5);
        assertThat(engine.batchSize()).isEqualTo(3);
        running.forEach(Disposable::dispose);
        awaitIdle(engine);
    }

    @Test
    void aBudgetBeyondWhatTheJvmMayAllocateDirectlyIsCutToSevenEighthsOfThatLimit() throws Exception {
        long limit = Runtime.getRuntime().maxMemory(); // the direct-memory limit: failsafe sets no -XX:MaxDirectMemorySize

        assertThat(engine(1L << 40, 4).kvCacheBudgetBytes()).isEqualTo(limit - limit / 8);
        engine.close();
        assertThat(engine(64L << 20, 4).kvCacheBudgetBytes()).isEqualTo(64L << 20);
    }

    @Test
    void promptPlusMaxTokensBeyondTheContextFailsBeforeAnyWork() {
        Engine engine = engine(1L << 30, 4);
        int context = engine.decoder().directory().manifest().contextLength();

        assertThatThrownBy(() -> tokens(engine.generate(greedy(new int[] {1, 2, 3}, context))))
            .isInstanceOf(EngineException.ContextLengthExceeded.class)
            .hasMessageContaining("exceed the model's context of " + context);
        assertThat(engine.activeCount()).isZero();
    }

    @Test
    void logprobsAreTheLogSoftmaxOfTheDecodersLogitsAtEachToken() throws Exception {
        int[] prompt = ints(references().get(1).path("prompt_ids"));
        Engine engine = engine(1L << 30, 4);
        List<GenerationEvent.Token> tokens = engine.generate(new GenerationRequest(prompt,
                new SamplingParameters(0.8, 0, 1, 0, 1, 3L), 12, java.util.Set.of(), 5, new java.util.BitSet()))
            .ofType(GenerationEvent.Token.class).collectList().block(TIMEOUT);

        Decoder decoder = engine.decoder();
        float[] logits = new float[decoder.directory().manifest().vocabularySize()];
        try (KvCache cache = decoder.newCache(prompt.length + tokens.size())) { // the same tokens, alone
            decoder.step(cache, prompt, logits);
            for (GenerationEvent.Token token : tokens) {
                double[] reference = TokenLogprobsTests.logSoftmax(logits);
                TokenLogprobs logprobs = token.logprobs();
                assertThat(logprobs).isNotNull();
                assertThat((double) logprobs.logprob()).as("token %d", token.index())
                    .isCloseTo(reference[token.tokenId()], org.assertj.core.api.Assertions.within(1e-4));
                int[] order = java.util.stream.IntStream.range(0, reference.length).boxed()
                    .sorted((a, b) -> Double.compare(reference[b], reference[a])).limit(5).mapToInt(Integer::intValue)
                    .toArray();
                assertThat(logprobs.topIds()).containsExactly(order);
                for (int i = 0; i < 5; i++) {
                    assertThat((double) logprobs.topLogprobs()[i])
                        .isCloseTo(reference[order[i]], org.assertj.core.api.Assertions.within(1e-4));
                }
                decoder.step(cache, new int[] {token.tokenId()}, logits);
            }
        }
        assertThat(tokens(engine.generate(greedy(prompt, 3))).size()).isEqualTo(3);
        assertThat(engine.generate(greedy(prompt, 3)).ofType(GenerationEvent.Token.class)
            .filter(token -> token.logprobs() != null).count().block(TIMEOUT)).as("none unless asked").isZero();
    }

    @Test
    void theFinishEventCarriesUsageAndTimings() {
        int[] prompt = ints(references().get(0).path("prompt_ids"));
        Engine engine = engine(1L << 30, 4);
        List<GenerationEvent> events = new CopyOnWriteArrayList<>(engine.generate(greedy(prompt, 12)).collectList().block(TIMEOUT));

        GenerationEvent.Finished finished = (GenerationEvent.Finished) events.get(events.size() - 1);
        assertThat(finished.reason()).isEqualTo(FinishReason.LENGTH);
        assertThat(finished.promptTokens()).isEqualTo(prompt.length);
        assertThat(finished.completionTokens()).isEqualTo(12).isEqualTo(events.size() - 1);
        assertThat(finished.timeToFirstTokenNanos()).isPositive();
        assertThat(finished.decodeTokensPerSecond()).isPositive();
    }

    private long kvBytesPerToken() {
        ModelDirectory directory = ModelDirectory.open(TestModels.resolve("tiny-fp32"));
        return directory.decoder().kvBytesPerToken(directory.manifest().kvCacheType());
    }

    private static void awaitIdle(Engine engine) throws InterruptedException {
        awaitActive(engine, 0);
    }

    private static void awaitActive(Engine engine, int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while ((engine.activeCount() != count || engine.queuedCount() != 0) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(engine.activeCount()).isEqualTo(count);
    }

    /**
     * Resident memory after a collection. The integration-test JVM has a fixed, pre-touched heap
     * (pom.xml, failsafe argLine), so what changes here is native memory: ONNX Runtime's allocations
     * and direct buffers.
     */
    private static long residentKbAfterGc() throws Exception {
        System.gc();
        Thread.sleep(200); // let the cleaners free collected direct buffers
        return Files.readAllLines(Path.of("/proc/self/status")).stream()
            .filter(line -> line.startsWith("VmRSS:"))
            .mapToLong(line -> Long.parseLong(line.replaceAll("\\D", "")))
            .findFirst()
            .orElseThrow();
    }
}
