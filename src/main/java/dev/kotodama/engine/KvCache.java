package dev.kotodama.engine;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;

/**
 * One sequence's key/value cache: per layer a key and a value tensor that the graph reads as past and
 * writes as present in place (both names bound to the same tensor), so a decode step copies nothing.
 * Not thread-safe: one generation owns it. Closing it releases the native tensors.
 */
public final class KvCache implements AutoCloseable {

    private final OnnxTensor[] keys; // per layer [1, kvHeads, capacity, headDim]

    private final OnnxTensor[] values; // per layer [1, kvHeads, capacity, headDim]

    private final int capacity;

    private int length;

    KvCache(OrtEnvironment environment, DecoderSpec spec, TensorType type, int capacity) throws OrtException {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be positive, got " + capacity);
        }
        this.capacity = capacity;
        this.keys = new OnnxTensor[spec.layers()];
        this.values = new OnnxTensor[spec.layers()];
        long[] shape = {1, spec.kvHeads(), capacity, spec.headDim()};
        int bytes = Math.multiplyExact(Math.multiplyExact(spec.kvHeads() * spec.headDim(), capacity), type.bytes());
        try {
            for (int layer = 0; layer < spec.layers(); layer++) {
                keys[layer] = zeroed(environment, bytes, shape, type);
                values[layer] = zeroed(environment, bytes, shape, type);
            }
        }
        catch (OrtException | RuntimeException ex) {
            close();
            throw ex;
        }
    }

    private static OnnxTensor zeroed(OrtEnvironment environment, int bytes, long[] shape, TensorType type)
            throws OrtException {
        ByteBuffer buffer = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
        if (type == TensorType.FLOAT32) {
            return OnnxTensor.createTensor(environment, buffer.asFloatBuffer(), shape);
        }
        return OnnxTensor.createTensor(environment, buffer, shape, type.onnxType());
    }

    /** Tokens held so far. */
    public int length() {
        return length;
    }

    /** Tokens it can hold. */
    public int capacity() {
        return capacity;
    }

    OnnxTensor key(int layer) {
        return keys[layer];
    }

    OnnxTensor value(int layer) {
        return values[layer];
    }

    void advance(int tokens) {
        if (length + tokens > capacity) {
            throw new IllegalStateException("KV cache full: " + length + " + " + tokens + " > " + capacity);
        }
        length += tokens;
    }

    @Override
    public void close() {
        for (OnnxTensor[] tensors : new OnnxTensor[][] {keys, values}) {
            for (OnnxTensor tensor : tensors) {
                if (tensor != null) {
                    tensor.close();
                }
            }
        }
    }
}
