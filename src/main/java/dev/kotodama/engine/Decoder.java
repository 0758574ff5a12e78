package dev.kotodama.engine;

import java.nio.FloatBuffer;
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
import org.jspecify.annotations.Nullable;

/**
 * The exported decoder graph in an ONNX Runtime session: one forward pass over new tokens of one
 * sequence, whose KV cache is updated in place. Shared by all generations and thread-safe (ONNX
 * Runtime runs concurrent calls of one session); per-sequence state lives in {@link KvCache}.
 */
public final class Decoder implements AutoCloseable {

    static final String INPUT_IDS = "input_ids"; // int64 [1, newTokens]

    static final String ATTENTION_MASK = "attention_mask"; // int64 [1, tokensSoFar]

    static final String LOGITS = "logits"; // float32 [1, 1, vocab]: the last position only

    private final OrtEnvironment environment;

    private final OrtSession session;

    private final ModelDirectory directory;

    private final ProviderChoice provider;

    private final String[] pastKeys;

    private final String[] pastValues;

    private final String[] presentKeys;

    private final String[] presentValues;

    private final LongAdder sessionRunNanos = new LongAdder();

    private Decoder(OrtEnvironment environment, OrtSession session, ModelDirectory directory, ProviderChoice provider) {
        this.environment = environment;
        this.session = session;
        this.directory = directory;
        this.provider = provider;
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
        OrtEnvironment environment = OrtEnvironment.getEnvironment();
        try (ProviderSessionOptions chosen = options.create(requested)) {
            OrtSession session = cache == null
                    ? environment.createSession(directory.modelFile().toString(), chosen.options())
                    : cache.open(environment, directory, chosen.options(), chosen.choice().used(),
                            options.optimizationLevel());
            return new Decoder(environment, session, directory, chosen.choice());
        }
        catch (OrtException ex) {
            throw new ModelDirectoryException("model directory " + directory.path()
                    + ": ONNX Runtime cannot load model.onnx (" + OrtErrors.firstLine(ex.getMessage()) + ")", ex);
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

    /** A zeroed cache for a sequence of up to {@code capacity} tokens. */
    public KvCache newCache(int capacity) throws OrtException {
        return new KvCache(environment, directory.decoder(), directory.manifest().kvCacheType(), capacity);
    }

    /**
     * Runs the tokens that follow those already in the cache and writes the last position's logits.
     *
     * @param cache the sequence's cache; it grows by {@code tokens.length}
     * @param tokens the new token ids (the prompt at prefill, one token at a decode step)
     * @param logits receives the vocabulary's logits for the position after the last token
     * @param options run options whose {@code setTerminate(true)} aborts the run from another thread
     */
    public void step(KvCache cache, int[] tokens, float[] logits, OrtSession.RunOptions options) throws OrtException {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("tokens must not be empty");
        }
        int total = cache.length() + tokens.length;
        if (total > cache.capacity()) {
            throw new IllegalStateException("sequence of " + total + " tokens exceeds its KV cache of " + cache.capacity());
        }
        long[] ids = new long[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            ids[i] = tokens[i];
        }
        long[] mask = new long[total];
        Arrays.fill(mask, 1L);
        try (OnnxTensor inputIds = OnnxTensor.createTensor(environment, LongBuffer.wrap(ids), new long[] {1, ids.length});
                OnnxTensor attentionMask = OnnxTensor.createTensor(environment, LongBuffer.wrap(mask), new long[] {1, total})) {
            Map<String, OnnxTensor> inputs = new HashMap<>();
            Map<String, OnnxValue> pinned = new HashMap<>();
            inputs.put(INPUT_IDS, inputIds);
            inputs.put(ATTENTION_MASK, attentionMask);
            for (int layer = 0; layer < pastKeys.length; layer++) {
                inputs.put(pastKeys[layer], cache.key(layer));
                inputs.put(pastValues[layer], cache.value(layer));
                pinned.put(presentKeys[layer], cache.key(layer));
                pinned.put(presentValues[layer], cache.value(layer));
            }
            long start = System.nanoTime();
            try (OrtSession.Result result = session.run(inputs, Set.of(LOGITS), pinned, options)) {
                sessionRunNanos.add(System.nanoTime() - start);
                FloatBuffer output = ((OnnxTensor) result.get(LOGITS).orElseThrow()).getFloatBuffer();
                output.get(logits, 0, logits.length);
            }
        }
        cache.advance(tokens.length);
    }

    /** {@link #step(KvCache, int[], float[], OrtSession.RunOptions)} that cannot be aborted. */
    public void step(KvCache cache, int[] tokens, float[] logits) throws OrtException {
        try (OrtSession.RunOptions options = new OrtSession.RunOptions()) {
            step(cache, tokens, logits, options);
        }
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }

    private static String[] names(String pattern, int layers) {
        String[] names = new String[layers];
        for (int layer = 0; layer < layers; layer++) {
            names[layer] = String.format(pattern, layer);
        }
        return names;
    }
}
