package dev.kotodama.engine;

import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The exported decoder graph in an ONNX Runtime session: one forward pass over new tokens of one
 * sequence, or over the next token of several (a batched decode step), whose KV cache is updated in
 * place; GroupQueryAttention reads each row's own length from the attention mask. Shared by all
 * generations and thread-safe (ONNX Runtime runs concurrent calls of one session); per-sequence state
 * lives in {@link KvCache}.
 */
public final class Decoder implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(Decoder.class);

    static final String INPUT_IDS = "input_ids"; // int64 [rows, newTokens]

    static final String ATTENTION_MASK = "attention_mask"; // int64 [rows, most tokens so far]: ones, then zeros

    static final String LOGITS = "logits"; // float32 [rows, 1, vocab]: the last position only

    private final OrtEnvironment environment;

    private final OrtSession session;

    private final ModelDirectory directory;

    private final ProviderChoice provider;

    private final String[] pastKeys;

    private final String[] pastValues;

    private final String[] presentKeys;

    private final String[] presentValues;

    private final LongAdder sessionRunNanos = new LongAdder();

    // open as long as the session: closing them unloads a custom operator library they registered
    private final ProviderSessionOptions options;

    private Decoder(OrtEnvironment environment, OrtSession session, ModelDirectory directory,
            ProviderSessionOptions options) {
        this.environment = environment;
        this.session = session;
        this.directory = directory;
        this.options = options;
        this.provider = options.choice();
        DecoderSpec spec = directory.decoder();
        this.pastKeys = names(spec.pastKeyPattern(), spec.layers());
        this.pastValues = names(spec.pastValuePattern(), spec.layers());
        this.presentKeys = names(spec.presentKeyPattern(), spec.layers());
        this.presentValues = names(spec.presentValuePattern(), spec.layers());
    }

    /**
     * Loads the directory's graph on the requested provider.
     *
     * @throws ProviderUnavailableException when CUDA is required and does not load
     * @throws ModelDirectoryException when ONNX Runtime cannot load the graph
     */
    public static Decoder load(ModelDirectory directory, SessionOptionsFactory options, ExecutionProvider requested) {
        return load(directory, options, requested, null);
    }

    /**
     * Loads the directory's graph on the requested provider, through {@code cache} when it is not null.
     *
     * @throws ProviderUnavailableException when CUDA is required and does not load
     * @throws ModelDirectoryException when ONNX Runtime cannot load the graph
     * @throws java.io.UncheckedIOException when the cache cannot be written
     */
    public static Decoder load(ModelDirectory directory, SessionOptionsFactory options, ExecutionProvider requested,
            @Nullable OptimizedModelCache cache) {
        Objects.requireNonNull(directory, "directory must not be null");
        Objects.requireNonNull(options, "options must not be null");
        if (options.optimizationLevel() == OptLevel.NO_OPT && directory.manifest().precision().equals("int4")) {
            // the exporter stores int4 scales as float16 behind a Cast that graph optimization folds away
            logger.warn("graph optimization no_opt on the int4 model {}: its scales' Cast stays in the graph, so"
                    + " MatMulNBits cannot prepack its weights and every token runs several times slower;"
                    + " set kotodama.graph-optimization to basic_opt or higher", directory.path());
        }
        OrtEnvironment environment = OrtEnvironment.getEnvironment();
        ProviderSessionOptions chosen = null;
        Decoder decoder = null;
        try {
            chosen = options.create(requested, directory.customOpLibrary());
            OrtSession session = cache == null
                    ? environment.createSession(directory.modelFile().toString(), chosen.options())
                    : cache.open(environment, directory, chosen.options(), chosen.choice().used(),
                            options.optimizationLevel());
            decoder = new Decoder(environment, session, directory, chosen);
            return decoder;
        }
        catch (OrtException ex) {
            throw new ModelDirectoryException("model directory " + directory.path()
                    + ": ONNX Runtime cannot load model.onnx (" + OrtErrors.firstLine(ex.getMessage()) + ")", ex);
        }
        finally {
            if (decoder == null && chosen != null) {
                chosen.close();
            }
        }
    }

    public ModelDirectory directory() {
        return directory;
    }

    /** The provider the session runs on, with the reason when it is not the one asked for. */
    public ProviderChoice provider() {
        return provider;
    }

    /** Time spent inside ONNX Runtime's {@code session.run} so far, over all steps (for benchmarks). */
    public long sessionRunNanos() {
        return sessionRunNanos.sum();
    }

    /** A zeroed cache for one sequence of up to {@code capacity} tokens. */
    public KvCache newCache(int capacity) {
        return newCache(1, capacity);
    }

    /**
     * A zeroed cache for {@code rows} sequences of up to {@code capacity} tokens each.
     *
     * @throws OutOfMemoryError when the JVM may not allocate that much direct memory
     */
    public KvCache newCache(int rows, int capacity) {
        return new KvCache(environment, directory.decoder(), directory.manifest().kvCacheType(), rows, capacity,
                directory.manifest().vocabularySize());
    }

    /**
     * Runs the tokens that follow those already in one row of the cache and writes the last position's
     * logits.
     *
     * @param cache the sequences' cache; the row grows by {@code tokens.length}
     * @param row the sequence
     * @param tokens the new token ids (a prompt or a chunk of it, or one token at a decode step)
     * @param logits receives the vocabulary's logits for the position after the last token
     * @param options run options whose {@code setTerminate(true)} aborts the run from another thread
     */
    public void step(KvCache cache, int row, int[] tokens, float[] logits, OrtSession.RunOptions options)
            throws OrtException {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("tokens must not be empty");
        }
        int total = cache.length(row) + tokens.length;
        if (total > cache.capacity()) {
            throw new IllegalStateException("sequence of " + total + " tokens exceeds its KV cache of " + cache.capacity());
        }
        long[] ids = new long[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            ids[i] = tokens[i];
        }
        long[] mask = new long[total];
        Arrays.fill(mask, 1L);
        run(cache, row, 1, ids, tokens.length, mask, total, options);
        cache.logits(row, logits);
        cache.advance(row, tokens.length);
    }

    /**
     * One decode step of several sequences in one run: each of {@code rows} takes its next token and
     * gets the logits after it. The run covers the rows from the first to the last given; a row between
     * them that is not given runs a dummy token at its next position, which leaves what it holds intact.
     *
     * @param rows the sequences, ascending
     * @param tokens each row's next token
     * @param logits receives each row's logits
     */
    public void decode(KvCache cache, int[] rows, int[] tokens, float[][] logits, OrtSession.RunOptions options)
            throws OrtException {
        if (rows.length == 0 || tokens.length != rows.length || logits.length != rows.length) {
            throw new IllegalArgumentException("rows, tokens and logits must be as many and not none");
        }
        int first = rows[0];
        int count = rows[rows.length - 1] - first + 1;
        long[] ids = new long[count];
        int[] lengths = new int[count];
        int total = 0;
        for (int i = 0; i < count; i++) {
            lengths[i] = cache.length(first + i) + 1;
            total = Math.max(total, lengths[i]);
        }
        for (int i = 0; i < rows.length; i++) {
            if (i > 0 && rows[i] <= rows[i - 1]) {
                throw new IllegalArgumentException("rows must ascend, got " + Arrays.toString(rows));
            }
            if (lengths[rows[i] - first] > cache.capacity()) {
                throw new IllegalStateException("row " + rows[i] + " is full (" + cache.capacity() + " tokens)");
            }
            ids[rows[i] - first] = tokens[i];
        }
        long[] mask = new long[count * total]; // row r: ones for its tokens so far, then zeros
        for (int i = 0; i < count; i++) {
            Arrays.fill(mask, i * total, i * total + lengths[i], 1L);
        }
        run(cache, first, count, ids, 1, mask, total, options);
        for (int i = 0; i < rows.length; i++) {
            cache.logits(rows[i], logits[i]);
        }
        for (int row : rows) {
            cache.advance(row, 1);
        }
    }

    /** {@link #step(KvCache, int, int[], float[], OrtSession.RunOptions)} on a cache of one sequence. */
    public void step(KvCache cache, int[] tokens, float[] logits, OrtSession.RunOptions options) throws OrtException {
        step(cache, 0, tokens, logits, options);
    }

    /** {@link #step(KvCache, int[], float[], OrtSession.RunOptions)} that cannot be aborted. */
    public void step(KvCache cache, int[] tokens, float[] logits) throws OrtException {
        try (OrtSession.RunOptions options = new OrtSession.RunOptions()) {
            step(cache, 0, tokens, logits, options);
        }
    }

    /** Runs the graph over rows {@code first..first+count-1}; it writes their KV and logits in the cache. */
    private void run(KvCache cache, int first, int count, long[] ids, int newTokens, long[] mask, int total,
            OrtSession.RunOptions options) throws OrtException {
        try (OnnxTensor inputIds = OnnxTensor.createTensor(environment, LongBuffer.wrap(ids), new long[] {count, newTokens});
                OnnxTensor attentionMask = OnnxTensor.createTensor(environment, LongBuffer.wrap(mask),
                        new long[] {count, total})) {
            Map<String, OnnxTensor> inputs = new HashMap<>();
            Map<String, OnnxValue> pinned = new HashMap<>();
            inputs.put(INPUT_IDS, inputIds);
            inputs.put(ATTENTION_MASK, attentionMask);
            for (int layer = 0; layer < pastKeys.length; layer++) {
                OnnxTensor keys = cache.keys(first, count, layer);
                OnnxTensor values = cache.values(first, count, layer);
                inputs.put(pastKeys[layer], keys);
                inputs.put(pastValues[layer], values);
                pinned.put(presentKeys[layer], keys);
                pinned.put(presentValues[layer], values);
            }
            pinned.put(LOGITS, cache.logitsOutput(first, count));
            long start = System.nanoTime();
            try (OrtSession.Result result = session.run(inputs, Set.of(), pinned, options)) {
                sessionRunNanos.add(System.nanoTime() - start);
            }
        }
    }

    @Override
    public void close() throws OrtException {
        try {
            session.close();
        }
        finally {
            options.close();
        }
    }

    private static String[] names(String pattern, int layers) {
        String[] names = new String[layers];
        for (int layer = 0; layer < layers; layer++) {
            names[layer] = String.format(pattern, layer);
        }
        return names;
    }
}
