package dev.kotodama.ai;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import dev.kotodama.TestModels;
import dev.kotodama.engine.Decoder;
import dev.kotodama.engine.Engine;
import dev.kotodama.engine.EngineOptions;
import dev.kotodama.engine.ExecutionProvider;
import dev.kotodama.engine.ModelDirectory;
import dev.kotodama.engine.SessionOptionsFactory;
import dev.kotodama.tokenizer.LlmJpTokenizer;

/**
 * The tiny fp32 export (random weights, the real LLM-jp-4 tokenizer and template) with an engine whose
 * sampler can be forced ({@link ForcedTokens}), for the chat model's integration tests.
 */
final class TinyModel implements AutoCloseable {

    final ForcedTokens forced = new ForcedTokens();

    final Engine engine;

    final LlmJpTokenizer tokenizer;

    TinyModel() {
        this(new EngineOptions(1L << 30, 8));
    }

    TinyModel(EngineOptions options) {
        ModelDirectory directory = ModelDirectory.open(TestModels.resolve("tiny-fp32"));
        Decoder decoder = Decoder.load(directory, new SessionOptionsFactory(OrtEnvironment.getEnvironment(), 2),
                ExecutionProvider.CPU);
        this.engine = new Engine(decoder, options, forced);
        this.tokenizer = LlmJpTokenizer.load(directory.path());
    }

    KotodamaChatModel chatModel(KotodamaChatOptions defaults) {
        return KotodamaChatModel.builder().engine(engine).tokenizer(tokenizer).options(defaults).build();
    }

    /** The text of the prompt of the n-th generation since the last reset, special tokens written out. */
    String prompt(int generation) {
        return tokenizer.decode(forced.requests().get(generation).promptIds());
    }

    /** Ids of text with special tokens written out, for scripts: {@code <|channel|>final<|message|>Hi}. */
    int[] ids(String textWithSpecialTokens) {
        return tokenizer.encode(textWithSpecialTokens);
    }

    @Override
    public void close() throws OrtException {
        engine.close();
        tokenizer.close();
    }
}
