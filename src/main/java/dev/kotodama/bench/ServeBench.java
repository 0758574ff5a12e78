package dev.kotodama.bench;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.function.IntFunction;
import java.util.stream.IntStream;

import ai.onnxruntime.OrtEnvironment;
import dev.kotodama.engine.Decoder;
import dev.kotodama.engine.Engine;
import dev.kotodama.engine.EngineOptions;
import dev.kotodama.engine.ExecutionProvider;
import dev.kotodama.engine.GenerationEvent;
import dev.kotodama.engine.GenerationRequest;
import dev.kotodama.engine.ModelDirectory;
import dev.kotodama.engine.SessionOptionsFactory;
import dev.kotodama.engine.sampling.SamplingParameters;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import tools.jackson.databind.json.JsonMapper;

import static dev.kotodama.bench.Bench.progress;
import static dev.kotodama.bench.Bench.round;

/**
 * The engine serving many streams at once (continuous batching, chunked prefill, prefix reuse), greedy,
 * on the CPU provider. Progress goes to stderr; the last line on stdout is one JSON object:
 * <ul>
 * <li>one stream, then {@code --concurrency} streams of distinct prompts started together: aggregate and
 *     per-stream decode tok/s, their ratio to one stream, and TTFT p50/p99. The aggregate counts the
 *     tokens of the steady state, from the last stream's first token to the first stream's last, over
 *     that window's length (so neither the staggered prefills nor the stragglers weigh in);</li>
 * <li>{@code --concurrency} − 1 streams running while a {@code --long-prompt}-token prompt arrives: the
 *     running streams' inter-token gap p50 before it (all of them decoding), and p50, p99 and max during
 *     its prefill, up to one plain gap after its first token (the stalled step ends after it);</li>
 * <li>a conversation of {@code --conversation} tokens: the second turn's TTFT with its first turn's cache
 *     reused, and the same prompt's TTFT with nothing to reuse.</li>
 * </ul>
 *
 * <pre>
 * ./mvnw -q compile exec:java -Dexec.mainClass=dev.kotodama.bench.ServeBench \
 *     -Dexec.args="--model DIR --concurrency 8 --threads 2"
 * </pre>
 */
public final class ServeBench {

    private static final String USAGE = "usage: ServeBench --model DIR [--concurrency C] [--prompt-tokens N]"
            + " [--new-tokens M] [--long-prompt L] [--conversation T] [--prefill-chunk K] [--prefill-pace P] [--threads T]"
            + " [--kv-budget-mb B]";

    private static final Duration TIMEOUT = Duration.ofHours(1);

    private ServeBench() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, Integer> options = new LinkedHashMap<>(Map.of("--concurrency", 8, "--prompt-tokens", 64,
                "--new-tokens", 64, "--long-prompt", 512, "--conversation", 1000,
                "--prefill-chunk", EngineOptions.DEFAULT_PREFILL_CHUNK, "--threads", 0, "--kv-budget-mb", 2048));
        String model = null;
        double pace = EngineOptions.DEFAULT_PREFILL_PACE;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--model") && i + 1 < args.length) {
                model = args[++i];
            }
            else if (args[i].equals("--prefill-pace") && i + 1 < args.length && args[i + 1].matches("\\d{1,3}(\\.\\d+)?")) {
                pace = Double.parseDouble(args[++i]);
            }
            else if (options.containsKey(args[i]) && i + 1 < args.length && args[i + 1].matches("\\d{1,9}")) {
                options.put(args[i], Integer.parseInt(args[++i]));
            }
            else {
                System.err.println("serve-bench: unknown argument or missing number at '" + args[i] + "'; " + USAGE);
                System.exit(2);
            }
        }
        if (model == null || options.get("--concurrency") < 2 || options.get("--new-tokens") < 2) {
            System.err.println("serve-bench: --model is required, --concurrency and --new-tokens at least 2; " + USAGE);
            System.exit(2);
        }
        int concurrency = options.get("--concurrency");
        OrtEnvironment environment = OrtEnvironment.getEnvironment();
        Decoder decoder = Decoder.load(ModelDirectory.open(Path.of(model)),
                new SessionOptionsFactory(environment, options.get("--threads")), ExecutionProvider.CPU);
        try (Engine engine = new Engine(decoder, new EngineOptions((long) options.get("--kv-budget-mb") << 20,
                4 * concurrency, EngineOptions.UNLIMITED, concurrency, options.get("--prefill-chunk"), pace))) {
            progress("ONNX Runtime %s, %s; %d sequences of up to %d tokens", environment.getVersion(), model, concurrency,
                    engine.maxSequenceTokens());
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("cpu", Bench.cpuName());
            result.put("threads", options.get("--threads"));
            result.put("prefill_pace", pace);
            result.putAll(measure(engine, options));
            System.out.println(JsonMapper.shared().writeValueAsString(result));
        }
    }

    private static Map<String, Object> measure(Engine engine, Map<String, Integer> options) throws Exception {
        int concurrency = options.get("--concurrency");
        int promptTokens = options.get("--prompt-tokens");
        int newTokens = options.get("--new-tokens");
        int[] ids = Bench.promptIds(promptTokens * (2 * concurrency + 4) + options.get("--long-prompt")
                + options.get("--conversation") + 64);
        int[] next = {0};
        IntFunction<int[]> fresh = length -> Arrays.copyOfRange(ids, next[0], next[0] += length);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("concurrency", concurrency);
        result.put("prefill_chunk", options.get("--prefill-chunk"));

        run(engine, List.of(fresh.apply(16)), 8); // warm-up
        progress("one stream");
        Streams one = run(engine, List.of(fresh.apply(promptTokens)), newTokens);
        progress("%d streams", concurrency);
        Streams many = run(engine, IntStream.range(0, concurrency).mapToObj(i -> fresh.apply(promptTokens)).toList(),
                newTokens);
        double single = one.steadyDecodeTokensPerSecond();
        double aggregate = many.steadyDecodeTokensPerSecond();
        result.put("single_decode_tok_s", round(single, 2));
        result.put("aggregate_decode_tok_s", round(aggregate, 2));
        result.put("per_stream_decode_tok_s", round(aggregate / concurrency, 2));
        result.put("speedup", round(aggregate / single, 2));
        result.put("single_java_overhead_frac", round(one.steadyJavaOverheadFraction(), 4));
        result.put("aggregate_java_overhead_frac", round(many.steadyJavaOverheadFraction(), 4));
        result.put("ttft_p50_ms", round(percentile(many.ttftNanos, 0.5) / 1e6, 1));
        result.put("ttft_p99_ms", round(percentile(many.ttftNanos, 0.99) / 1e6, 1));

        progress("%d streams while a %d-token prompt arrives", concurrency - 1, options.get("--long-prompt"));
        result.putAll(longPromptArrives(engine, concurrency - 1, fresh.apply(promptTokens * (concurrency - 1)),
                promptTokens, fresh.apply(options.get("--long-prompt"))));

        progress("a conversation of %d tokens, second turn with and without reuse", options.get("--conversation"));
        int[] history = fresh.apply(options.get("--conversation"));
        List<Integer> answer = run(engine, List.of(history), 16).tokens.get(0);
        int[] secondTurn = IntStream.concat(IntStream.concat(Arrays.stream(history),
                answer.stream().mapToInt(Integer::intValue)), Arrays.stream(fresh.apply(24))).toArray();
        long reusedBefore = engine.reusedPromptTokens();
        long withReuse = run(engine, List.of(secondTurn), 2).ttftNanos.get(0);
        long reused = engine.reusedPromptTokens() - reusedBefore;
        int[] unrelated = secondTurn.clone();
        unrelated[0] = unrelated[0] == 1000 ? 1001 : 1000; // the same length, no common prefix
        long withoutReuse = run(engine, List.of(unrelated), 2).ttftNanos.get(0);
        result.put("second_turn_prompt_tokens", secondTurn.length);
        result.put("second_turn_reused_tokens", reused);
        result.put("second_turn_ttft_reused_ms", round(withReuse / 1e6, 1));
        result.put("second_turn_ttft_full_ms", round(withoutReuse / 1e6, 1));
        result.put("second_turn_ttft_ratio", round((double) withReuse / withoutReuse, 3));
        return result;
    }

    /**
     * Running streams' token gaps while a long prompt prefills (from its arrival to its first token), against
     * their gaps just before it, once all of them decode (four gaps each).
     */
    private static Map<String, Object> longPromptArrives(Engine engine, int running, int[] prompts, int promptTokens,
            int[] longPrompt) throws Exception {
        List<long[]> gaps = new CopyOnWriteArrayList<>(); // {at, gap}
        List<Flux<GenerationEvent>> streams = new ArrayList<>();
        CountDownLatch flowing = new CountDownLatch(running);
        for (int i = 0; i < running; i++) {
            long[] previous = {0};
            streams.add(engine.generate(new GenerationRequest(Arrays.copyOfRange(prompts, i * promptTokens,
                    (i + 1) * promptTokens), SamplingParameters.greedy(), Math.min(4000, engine.maxSequenceTokens() - promptTokens)))
                .doOnError(error -> progress("a running stream failed: %s", error.getMessage()))
                .doOnNext(event -> {
                    long now = System.nanoTime();
                    if (event instanceof GenerationEvent.Token token) {
                        if (token.index() == 4) {
                            flowing.countDown();
                        }
                        if (previous[0] != 0) {
                            gaps.add(new long[] {now, now - previous[0]});
                        }
                        previous[0] = now;
                    }
                }));
        }
        List<Disposable> subscriptions = streams.stream().map(Flux::subscribe).toList();
        flowing.await();
        long steady = System.nanoTime(); // every running stream is decoding: from here on, their plain pace
        while (gaps.stream().filter(gap -> gap[0] > steady).count() < 4L * running) {
            Thread.sleep(10);
        }
        long arrived = System.nanoTime();
        GenerationEvent.Finished finished = engine.generate(new GenerationRequest(longPrompt, SamplingParameters.greedy(), 1))
            .ofType(GenerationEvent.Finished.class).blockLast(TIMEOUT);
        long prefilled = arrived + finished.queuedNanos() + finished.timeToFirstTokenNanos();
        Thread.sleep(500);
        subscriptions.forEach(Disposable::dispose);
        List<Long> before = gaps.stream().filter(gap -> gap[0] > steady && gap[0] < arrived).map(gap -> gap[1]).toList();
        // the prefill's last chunk stalls the running streams' next step, whose tokens come after its first token
        long ended = prefilled + (long) percentile(before, 0.5);
        List<Long> during = gaps.stream().filter(gap -> gap[0] >= arrived && gap[0] <= ended).map(gap -> gap[1])
            .toList();
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("long_prompt_ttft_ms", round(finished.timeToFirstTokenNanos() / 1e6, 1));
        result.put("gap_p50_ms_before", round(percentile(before, 0.5) / 1e6, 1));
        result.put("gap_p50_ms_during", round(percentile(during, 0.5) / 1e6, 1));
        result.put("gap_p99_ms_during", round(percentile(during, 0.99) / 1e6, 1));
        result.put("gap_max_ms_during", round(during.stream().mapToLong(Long::longValue).max().orElse(0) / 1e6, 1));
        result.put("gap_max_over_median", round((double) during.stream().mapToLong(Long::longValue).max().orElse(0)
                / percentile(before, 0.5), 2));
        return result;
    }

    /** Greedy generations of {@code newTokens} each (stop ids end them early), started together. */
    private static Streams run(Engine engine, List<int[]> prompts, int newTokens) {
        Streams streams = new Streams();
        List<GenerationEvent.Finished> ends = Flux.fromIterable(prompts)
            .flatMap(prompt -> {
                List<Integer> tokens = Collections.synchronizedList(new ArrayList<>());
                List<long[]> arrivals = Collections.synchronizedList(new ArrayList<>()); // {at, session-run nanos so far}
                streams.tokens.add(tokens);
                streams.arrivals.add(arrivals);
                return engine.generate(new GenerationRequest(prompt, SamplingParameters.greedy(), newTokens))
                    .doOnNext(event -> {
                        if (event instanceof GenerationEvent.Token token) {
                            arrivals.add(new long[] {System.nanoTime(), engine.decoder().sessionRunNanos()});
                            tokens.add(token.tokenId());
                        }
                    })
                    .ofType(GenerationEvent.Finished.class);
            }, prompts.size())
            .collectList()
            .block(TIMEOUT);
        for (GenerationEvent.Finished end : ends) {
            streams.ttftNanos.add(end.queuedNanos() + end.timeToFirstTokenNanos());
        }
        return streams;
    }

    private static final class Streams {

        final List<List<Integer>> tokens = new CopyOnWriteArrayList<>();

        final List<List<long[]>> arrivals = new CopyOnWriteArrayList<>(); // per stream, each token's {at, run nanos}

        final List<Long> ttftNanos = new ArrayList<>();

        /**
         * Tokens per second of the steady state, when every stream is decoding: the tokens that arrive
         * after the last stream's first token and up to the first stream's last, over that window.
         */
        double steadyDecodeTokensPerSecond() {
            long[] from = steadyFrom();
            long[] to = steadyTo();
            long count = arrivals.stream().flatMap(List::stream).filter(at -> at[0] > from[0] && at[0] <= to[0]).count();
            return count / ((to[0] - from[0]) / 1e9);
        }

        /** The share of the steady window's time outside ONNX Runtime's runs: the engine's own work in Java. */
        double steadyJavaOverheadFraction() {
            long[] from = steadyFrom();
            long[] to = steadyTo();
            return 1 - (double) (to[1] - from[1]) / (to[0] - from[0]);
        }

        private long[] steadyFrom() {
            return arrivals.stream().map(times -> times.get(0)).max(Comparator.comparingLong(at -> at[0])).orElseThrow();
        }

        private long[] steadyTo() {
            long[] to = arrivals.stream().map(times -> times.get(times.size() - 1)).min(Comparator.comparingLong(at -> at[0]))
                .orElseThrow();
            if (to[0] <= steadyFrom()[0]) {
                throw new IllegalStateException("no stream was still decoding when the last one started; raise --new-tokens");
            }
            return to;
        }
    }

    private static double percentile(List<Long> values, double fraction) {
        if (values.isEmpty()) {
            return 0;
        }
        long[] sorted = values.stream().mapToLong(Long::longValue).sorted().toArray();
        return sorted[(int) Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];
    }
}
