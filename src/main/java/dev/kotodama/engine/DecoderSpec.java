package dev.kotodama.engine;

/**
 * The decoder graph's shape and names, from {@code genai_config.json} (the file onnxruntime-genai reads
 * too, so the two runtimes cannot disagree about them).
 *
 * @param layers decoder layers, each with one key and one value cache
 * @param kvHeads key/value heads per layer
 * @param headDim width of one head
 * @param pastKeyPattern input name of a layer's past keys, with {@code %d} for the layer
 * @param pastValuePattern likewise for values
 * @param presentKeyPattern output name of a layer's present keys
 * @param presentValuePattern likewise for values
 */
public record DecoderSpec(int layers, int kvHeads, int headDim, String pastKeyPattern, String pastValuePattern,
        String presentKeyPattern, String presentValuePattern) {

    public DecoderSpec {
        if (layers < 1 || kvHeads < 1 || headDim < 1) {
            throw new IllegalArgumentException("layers, kvHeads and headDim must be positive, got "
                    + layers + ", " + kvHeads + ", " + headDim);
        }
    }

    /** Bytes of KV cache one token takes in all layers. */
    public long kvBytesPerToken(TensorType type) {
        return 2L * layers * kvHeads * headDim * type.bytes();
    }
}
