package dev.kotodama.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.kotodama.engine.Decoder;
import dev.kotodama.engine.ExecutionProvider;
import dev.kotodama.engine.KvCache;
import dev.kotodama.engine.ModelDirectory;
import dev.kotodama.engine.ModelDirectoryException;
import dev.kotodama.engine.OptimizedModelCache;
import dev.kotodama.engine.SessionOptionsFactory;
import dev.kotodama.engine.sampling.Sampler;
import dev.kotodama.engine.sampling.Samplers;
import dev.kotodama.engine.sampling.SamplingParameters;
import dev.kotodama.engine.sampling.TokenHistory;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.json.JsonMapper;

/**
 * Single-stream speed of a model directory on the CPU provider, with the {@link Decoder} driven directly
 * (no engine, no tokenizer). Progress goes to stderr; the last line on stdout is one JSON object. Its peer
 * on onnxruntime-genai, {@code export/bench/genai_bench.py}, draws the same prompt ({@link #promptIds});
 * {@code export/bench/compare.sh DIR} runs the two one after the other. Alone, from the repository:
 *
 * <pre>
 * ./mvnw -q compile exec:java -Dexec.mainClass=dev.kotodama.bench.Bench \
 *     -Dexec.args="--model DIR --prompt-tokens 512 --new-tokens 64 --threads 2 --greedy"
 * </pre>
 *
 * (inside Maven's JVM, whose own memory counts in {@code peak_rss_mb}; compare.sh starts a JVM of its own)
 *
 * <pre>
 * load ─► warm-up (16-token prompt, 8 tokens) ─► prefill N ─► sample ─► (M − 1) × (step ─► sample) ─► JSON
 *                                                 └────── ttft ───────┘  └── decode tok/s, Java's share ──┘
 * </pre>
 */
public final class Bench {

    private static final String USAGE =
            "usage: Bench --model DIR --prompt-tokens N --new-tokens M [--threads T] [--greedy] [--optimized-model-cache DIR]";

    private static final long PROMPT_SEED = 20_261_126L; // prompt ids: ordinary text ids in [1000, 100000)
    private static final int FIRST_PROMPT_ID = 1_000;
    private static final int PROMPT_ID_RANGE = 99_000;

    private static final long SAMPLING_SEED = 42L;

    private static final int WARM_UP_PROMPT_TOKENS = 16;
    private static final int WARM_UP_NEW_TOKENS = 8;

    private Bench() {
    }

    /** The command line; {@code threads} 0 means ONNX Runtime's default; {@code optimizedModelCache} may be null. */
    record Arguments(Path model, int promptTokens, int newTokens, int threads, boolean greedy,
            @Nullable Path optimizedModelCache) {

        static Arguments parse(String[] args) {
            Path model = null;
            int promptTokens = 0;
            int newTokens = 0;
            int threads = 0;
            boolean greedy = false;
            Path optimizedModelCache = null;
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--model" -> model = Path.of(value(args, ++i));
                    case "--prompt-tokens" -> promptTokens = number(args, ++i, 1);
                    case "--new-tokens" -> newTokens = number(args, ++i, 2); // decode speed needs a second token
                    case "--threads" -> threads = number(args, ++i, 0);
                    case "--greedy" -> greedy = true;
                    case "--optimized-model-cache" -> optimizedModelCache = Path.of(value(args, ++i));
                    default -> throw new IllegalArgumentException("unknown argument '" + args[i] + "'");
                }
            }
            if (model == null || promptTokens == 0 || newTokens == 0) {
                throw new IllegalArgumentException("--model, --prompt-tokens and --new-tokens are required");
            }
            return new Arguments(model, promptTokens, newTokens, threads, greedy, optimizedModelCache);
        }

        ModelDirectory openModel() {
            ModelDirectory directory = ModelDirectory.open(model);
            int context = directory.manifest().contextLength();
            if (promptTokens + newTokens > context) {
                throw new IllegalArgumentException("--prompt-tokens plus --new-tokens exceed the model's context of " + context);
            }
            return directory;
        }

        private static String value(String[] args, int i) {
            if (i >= args.length) {
                throw new IllegalArgumentException(args[i - 1] + " needs a value");
            }
            return args[i];
        }

        private static int number(String[] args, int i, int min) {
            String value = value(args, i);
            if (!value.matches("\\d{1,9}") || Integer.parseInt(value) < min) {
                throw new IllegalArgumentException(args[i - 1] + " needs a whole number of at least " + min
                        + ", got '" + value + "'");
            }
            return Integer.parseInt(value);
        }
    }

    /** One timed generation: its tokens, and Java's mean share of a decode step's wall time. */
    record Generation(int[] tokens, long prefillNanos, long ttftNanos, long decodeNanos, double javaOverheadFraction) {
    }

    public static void main(String[] args) throws OrtException, IOException {
        OrtEnvironment environment = OrtEnvironment.getEnvironment(); // loads the native library: not timed
        long started = System.nanoTime();
        Arguments arguments;
        ModelDirectory directory;
        try {
            arguments = Arguments.parse(args);
            directory = arguments.openModel();
        }
        catch (IllegalArgumentException | ModelDirectoryException ex) {
            System.err.println("bench: " + ex.getMessage() + "; " + USAGE);
            System.exit(2);
            return;
        }
        SessionOptionsFactory options = new SessionOptionsFactory(environment, arguments.threads());
        OptimizedModelCache cache =
                arguments.optimizedModelCache() == null ? null : new OptimizedModelCache(arguments.optimizedModelCache());
        try (Decoder decoder = Decoder.load(directory, options, ExecutionProvider.CPU, cache)) {
            long loadNanos = System.nanoTime() - started;
            progress("ONNX Runtime %s: loaded %s in %.1f s (intra-op threads: %s)", environment.getVersion(),
                    directory.path(), seconds(loadNanos), arguments.threads() == 0 ? "default" : arguments.threads());
            System.out.println(JsonMapper.shared().writeValueAsString(measure(decoder, arguments, loadNanos)));
        }
    }

    private static Map<String, Object> measure(Decoder decoder, Arguments arguments, long loadNanos)
            throws OrtException, IOException {
        int[] prompt = promptIds(arguments.promptTokens());
        progress("prompt: %d ids, starting %s", prompt.length, Arrays.toString(Arrays.copyOf(prompt, Math.min(5, prompt.length))));
        generate(decoder, Arrays.copyOf(prompt, Math.min(WARM_UP_PROMPT_TOKENS, prompt.length)), WARM_UP_NEW_TOKENS,
                sampler(arguments), false);
        progress("warmed up; measuring");
        Generation run = generate(decoder, prompt, arguments.newTokens(), sampler(arguments), true);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("cpu", cpuName());
        result.put("load_s", round(seconds(loadNanos), 2));
        result.put("ttft_ms", round(run.ttftNanos() / 1e6, 1));
        result.put("prefill_tok_s", round(prompt.length / seconds(run.prefillNanos()), 1));
        result.put("decode_tok_s", round((run.tokens().length - 1) / seconds(run.decodeNanos()), 3));
        result.put("java_overhead_frac", round(run.javaOverheadFraction(), 4));
        result.put("peak_rss_mb", peakRssMb());
        if (arguments.greedy()) {
            result.put("tokens", run.tokens());
        }
        return result;
    }

    /** The prefill and {@code newTokens − 1} decode steps, each timed; stop ids do not end it. */
    static Generation generate(Decoder decoder, int[] prompt, int newTokens, Sampler sampler, boolean report)
            throws OrtException {
        float[] logits = new float[decoder.directory().manifest().vocabularySize()]; // [vocabulary]
        TokenHistory history = TokenHistory.of(prompt);
        int[] tokens = new int[newTokens];
        try (KvCache cache = decoder.newCache(prompt.length + newTokens);
                OrtSession.RunOptions runOptions = new OrtSession.RunOptions()) {
            long started = System.nanoTime();
            decoder.step(cache, prompt, logits, runOptions);
            long prefilled = System.nanoTime();
            tokens[0] = sampler.sample(logits, history);
            history.append(tokens[0]);
            long firstToken = System.nanoTime();
            if (report) {
                progress("prefill: %d tokens in %.0f ms", prompt.length, (prefilled - started) / 1e6);
            }
            double javaShares = 0;
            for (int i = 1; i < newTokens; i++) {
                long stepStarted = System.nanoTime();
                long runBefore = decoder.sessionRunNanos();
                decoder.step(cache, new int[] {tokens[i - 1]}, logits, runOptions);
                tokens[i] = sampler.sample(logits, history);
                history.append(tokens[i]);
                long wall = System.nanoTime() - stepStarted;
                javaShares += (double) (wall - (decoder.sessionRunNanos() - runBefore)) / wall;
                if (report && (i % 10 == 0 || i == newTokens - 1)) {
                    progress("decode: %d/%d tokens, %.2f tok/s", i + 1, newTokens, i / seconds(System.nanoTime() - firstToken));
                }
            }
            return new Generation(tokens, prefilled - started, firstToken - started, System.nanoTime() - firstToken,
                    javaShares / (newTokens - 1));
        }
    }

    /**
     * {@code count} ids in [1000, 100000): splitmix64 from {@value #PROMPT_SEED}, each output modulo the
     * range. genai_bench.py implements the same rule, so both runtimes see one prompt without a file.
     */
    static int[] promptIds(int count) {
        int[] ids = new int[count];
        long state = PROMPT_SEED;
        for (int i = 0; i < count; i++) {
            state += 0x9E3779B97F4A7C15L;
            long z = (state ^ (state >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            ids[i] = FIRST_PROMPT_ID + (int) Long.remainderUnsigned(z ^ (z >>> 31), PROMPT_ID_RANGE);
        }
        return ids;
    }

    private static Sampler sampler(Arguments arguments) {
        return arguments.greedy() ? Sampler.GREEDY
                : Samplers.create(SamplingParameters.llmJp4Cookbook().withSeed(SAMPLING_SEED));
    }

    /** The process's peak resident set (VmHWM), mapped weight pages included. */
    private static long peakRssMb() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(line -> line.startsWith("VmHWM:"))
                .mapToLong(line -> Long.parseLong(line.replaceAll("\\D", "")) / 1024)
                .findFirst()
                .orElseThrow(() -> new IOException("/proc/self/status has no VmHWM line"));
    }

    /** The processor's model name and core count, to print beside every figure. */
    static String cpuName() throws IOException {
        String name = Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                .filter(line -> line.startsWith("model name"))
                .map(line -> line.substring(line.indexOf(':') + 1).trim())
                .findFirst()
                .orElse("unknown");
        boolean avx512 = Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                .anyMatch(line -> line.startsWith("flags") && line.contains(" avx512f"));
        return name + ", " + Runtime.getRuntime().availableProcessors() + " cores, " + (avx512 ? "AVX-512" : "no AVX-512");
    }

    static void progress(String format, Object... args) {
        System.err.printf(format + "%n", args);
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }

    static double round(double value, int decimals) {
        double scale = Math.pow(10, decimals);
        return Math.round(value * scale) / scale;
    }
}
