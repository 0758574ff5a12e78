package dev.kotodama.engine;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.Map;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;

/**
 * The key/value cache of a fixed number of sequences (rows), each of up to {@link #capacity()} tokens:
 * per layer one key and one value buffer {@code [rows, kvHeads, capacity + 1, headDim]} that the graph
 * reads as past and writes as present in place (both names bound to the same tensor), so a step copies
 * nothing. A run over rows {@code first..first+count-1} binds a view of just those rows; a row that is
 * in the run only to keep the batch contiguous writes its dummy token at its own next position, which
 * the one spare position per row keeps inside the row even when it is full.
 *
 * <p>It holds each row's logits too, {@code [rows, 1, vocabulary]} float32, which the graph writes as its
 * output in place: a run copies them into no buffer of ONNX Runtime's (whose Java copy of an output
 * converts float by float, 15 ms a step for 8 rows of llm-jp-4's 196,608 logits).
 *
 * <p>Not thread-safe: the engine thread owns it. Closing it releases the native tensors.
 */
public final class KvCache implements AutoCloseable {

    private final OrtEnvironment environment;

    private final TensorType type;

    private final ByteBuffer[] keys; // per layer

    private final ByteBuffer[] values; // per layer

    private final int rows;

    private final int capacity;

    private final int kvHeads;

    private final int headDim;

    private final int[] lengths;

    private final int vocabulary;

    private final FloatBuffer logits; // [rows, 1, vocabulary]

    // (first, count) -> keys then values per layer, then the logits
    private final Map<Long, OnnxTensor[]> views = new HashMap<>();

    KvCache(OrtEnvironment environment, DecoderSpec spec, TensorType type, int rows, int capacity, int vocabulary) {
        if (rows < 1 || capacity < 1 || vocabulary < 1) {
            throw new IllegalArgumentException("rows, capacity and vocabulary must be positive, got " + rows + ", "
                    + capacity + " and " + vocabulary);
        }
        this.vocabulary = vocabulary;
        this.logits = ByteBuffer.allocateDirect(Math.multiplyExact(Math.multiplyExact(rows, vocabulary), Float.BYTES))
            .order(ByteOrder.nativeOrder()).asFloatBuffer();
        this.environment = environment;
        this.type = type;
        this.rows = rows;
        this.capacity = capacity;
        this.kvHeads = spec.kvHeads();
        this.headDim = spec.headDim();
        this.lengths = new int[rows];
        int bytes = Math.multiplyExact(Math.multiplyExact(Math.multiplyExact(rows, kvHeads * headDim),
                capacity + 1), type.bytes());
        this.keys = new ByteBuffer[spec.layers()];
        this.values = new ByteBuffer[spec.layers()];
        for (int layer = 0; layer < spec.layers(); layer++) { // allocateDirect zeroes, so a fresh row reads zeros
            keys[layer] = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
            values[layer] = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
        }
    }

    /** Sequences it holds. */
    public int rows() {
        return rows;
    }

    /** Tokens each row can hold. */
    public int capacity() {
        return capacity;
    }

    /** Tokens held so far by a row. */
    public int length(int row) {
        return lengths[row];
    }

    /** Forgets a row's tokens from position {@code length} on (0 empties it). */
    void truncate(int row, int length) {
        if (length < 0 || length > lengths[row]) {
            throw new IllegalArgumentException("row " + row + " holds " + lengths[row] + " tokens, cannot keep " + length);
        }
        lengths[row] = length;
    }

    /** Makes row {@code to} hold the first {@code tokens} tokens of row {@code from} (keys and values of every layer). */
    void copyPrefix(int from, int to, int tokens) {
        if (tokens > lengths[from]) {
            throw new IllegalArgumentException("row " + from + " holds " + lengths[from] + " tokens, not " + tokens);
        }
        int position = headDim * type.bytes(); // one token of one head
        int head = (capacity + 1) * position;
        int row = kvHeads * head;
        for (ByteBuffer[] buffers : new ByteBuffer[][] {keys, values}) {
            for (ByteBuffer buffer : buffers) {
                for (int h = 0; h < kvHeads; h++) {
                    buffer.put(to * row + h * head, buffer, from * row + h * head, tokens * position);
                }
            }
        }
        lengths[to] = tokens;
    }

    void advance(int row, int tokens) {
        if (lengths[row] + tokens > capacity) {
            throw new IllegalStateException("KV cache full: " + lengths[row] + " + " + tokens + " > " + capacity);
        }
        lengths[row] += tokens;
    }

    /** Keys of rows {@code first..first+count-1} of a layer, as one tensor. */
    OnnxTensor keys(int first, int count, int layer) throws OrtException {
        return view(first, count)[layer];
    }

    /** Values of rows {@code first..first+count-1} of a layer, as one tensor. */
    OnnxTensor values(int first, int count, int layer) throws OrtException {
        return view(first, count)[keys.length + layer];
    }

    /** The logits output of rows {@code first..first+count-1}, {@code [count, 1, vocabulary]}. */
    OnnxTensor logitsOutput(int first, int count) throws OrtException {
        return view(first, count)[2 * keys.length];
    }

    /** Copies the logits that the last run wrote for a row. */
    void logits(int row, float[] into) {
        logits.get(row * vocabulary, into, 0, vocabulary);
    }

    private OnnxTensor[] view(int first, int count) throws OrtException {
        if (first < 0 || count < 1 || first + count > rows) {
            throw new IllegalArgumentException("rows " + first + ".." + (first + count - 1) + " of " + rows);
        }
        long key = (long) first << 32 | count;
        OnnxTensor[] tensors = views.get(key);
        if (tensors == null) {
            tensors = new OnnxTensor[2 * keys.length + 1];
            long[] shape = {count, kvHeads, capacity + 1, headDim};
            int rowBytes = kvHeads * (capacity + 1) * headDim * type.bytes();
            try {
                for (int layer = 0; layer < keys.length; layer++) {
                    tensors[layer] = tensor(keys[layer].slice(first * rowBytes, count * rowBytes), shape);
                    tensors[keys.length + layer] = tensor(values[layer].slice(first * rowBytes, count * rowBytes), shape);
                }
                tensors[2 * keys.length] = OnnxTensor.createTensor(environment,
                        logits.slice(first * vocabulary, count * vocabulary), new long[] {count, 1, vocabulary});
            }
            catch (OrtException | RuntimeException ex) {
                close(tensors);
                throw ex;
            }
            views.put(key, tensors);
        }
        return tensors;
    }

    private OnnxTensor tensor(ByteBuffer bytes, long[] shape) throws OrtException {
        ByteBuffer buffer = bytes.order(ByteOrder.nativeOrder());
        if (type == TensorType.FLOAT32) {
            return OnnxTensor.createTensor(environment, buffer.asFloatBuffer(), shape);
        }
        return OnnxTensor.createTensor(environment, buffer, shape, type.onnxType());
    }

    private static void close(OnnxTensor[] tensors) {
        for (OnnxTensor tensor : tensors) {
            if (tensor != null) {
                tensor.close();
            }
        }
    }

    @Override
    public void close() {
        views.values().forEach(KvCache::close);
        views.clear();
    }
}
