package dev.kotodama.engine;

import java.util.Arrays;

import ai.onnxruntime.OnnxJavaType;

/** Element types of activations and KV caches in an exported graph, as the manifest names them. */
public enum TensorType {

    FLOAT32("float32", OnnxJavaType.FLOAT, 4),
    FLOAT16("float16", OnnxJavaType.FLOAT16, 2),
    BFLOAT16("bfloat16", OnnxJavaType.BFLOAT16, 2);

    private final String manifestName;

    private final OnnxJavaType onnxType;

    private final int bytes;

    TensorType(String manifestName, OnnxJavaType onnxType, int bytes) {
        this.manifestName = manifestName;
        this.onnxType = onnxType;
        this.bytes = bytes;
    }

    public OnnxJavaType onnxType() {
        return onnxType;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    public static TensorType fromManifest(String name) {
        return Arrays.stream(values())
            .filter(type -> type.manifestName.equals(name))
            .findFirst()
            .orElseThrow(() -> new IllegalArgumentException(
                    "unknown tensor type '" + name + "': expected float32, float16 or bfloat16"));
    }
}
