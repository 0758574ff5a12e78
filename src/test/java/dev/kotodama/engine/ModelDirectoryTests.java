package dev.kotodama.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelDirectoryTests {

    private static final String MANIFEST = """
            {"format": "kotodama-model/1", "target": "cpu", "precision": "int4", "kv_cache_dtype": "float32",
             "context_length": 4096, "vocab_size": 196608, "stop_token_ids": [2, 13], "chat_format": "harmony"}
            """;

    private static final String GENAI_CONFIG = """
            {"model": {"decoder": {"num_hidden_layers": 4, "num_key_value_heads": 1, "head_size": 32,
              "inputs": {"past_key_names": "past_key_values.%d.key", "past_value_names": "past_key_values.%d.value"},
              "outputs": {"present_key_names": "present.%d.key", "present_value_names": "present.%d.value"}}}}
            """;

    @TempDir
    Path directory;

    private void write(String manifest, String genaiConfig) throws IOException {
        Files.writeString(directory.resolve("kotodama.json"), manifest);
        Files.writeString(directory.resolve("genai_config.json"), genaiConfig);
        for (String name : new String[] {"model.onnx", "model.onnx.data", "tokenizer.json"}) {
            Files.writeString(directory.resolve(name), "");
        }
    }

    @Test
    void readsTheManifestAndTheDecoderShape() throws IOException {
        write(MANIFEST, GENAI_CONFIG);

        ModelDirectory model = ModelDirectory.open(directory);

        assertThat(model.manifest().stopTokenIds()).containsExactly(2, 13);
        assertThat(model.manifest().kvCacheType()).isEqualTo(TensorType.FLOAT32);
        assertThat(model.decoder().layers()).isEqualTo(4);
        assertThat(model.decoder().kvBytesPerToken(TensorType.FLOAT32)).isEqualTo(2L * 4 * 1 * 32 * 4);
    }

    @Test
    void aMissingDirectoryIsOneLineNamingIt() {
        Path missing = directory.resolve("nowhere");

        assertThatThrownBy(() -> ModelDirectory.open(missing))
            .isInstanceOf(ModelDirectoryException.class)
            .hasMessage("model directory " + missing + " does not exist or is not a directory");
    }

    @Test
    void missingFilesAreListedWithHowToMakeThem() throws IOException {
        Files.writeString(directory.resolve("kotodama.json"), MANIFEST);

        assertThatThrownBy(() -> ModelDirectory.open(directory))
            .hasMessageContaining("is missing genai_config.json, model.onnx, model.onnx.data, tokenizer.json")
            .hasMessageContaining("export/kotodama-export convert")
            .message().doesNotContain("\n");
    }

    @Test
    void corruptJsonNamesTheFile() throws IOException {
        write("{\"format\": ", GENAI_CONFIG);

        assertThatThrownBy(() -> ModelDirectory.open(directory))
            .isInstanceOf(ModelDirectoryException.class)
            .hasMessageStartingWith("model directory " + directory + " kotodama.json is not valid JSON");
    }

    @Test
    void anotherManifestFormatAsksForANewExport() throws IOException {
        write(MANIFEST.replace("kotodama-model/1", "kotodama-model/9"), GENAI_CONFIG);

        assertThatThrownBy(() -> ModelDirectory.open(directory))
            .hasMessageContaining("has format 'kotodama-model/9', this runtime reads 'kotodama-model/1'");
    }

    @Test
    void aMissingFieldIsNamedWithItsFile() throws IOException {
        write(MANIFEST.replace("\"vocab_size\": 196608,", ""), GENAI_CONFIG);

        assertThatThrownBy(() -> ModelDirectory.open(directory))
            .hasMessageContaining("kotodama.json lacks the field 'vocab_size'");
    }

    @Test
    void aCustomOperatorLibraryIsTheDirectorysOwnFileForThisPlatform() throws IOException {
        String ops = ", \"custom_ops\": {\"library\": \"libops.so\", \"platform\": \"" + ModelDirectory.platform() + "\"}}";
        write(MANIFEST.strip().replaceAll("}$", ops), GENAI_CONFIG);

        assertThatThrownBy(() -> ModelDirectory.open(directory))
            .hasMessageContaining("is missing libops.so, the library of its graph's custom operators");

        Files.writeString(directory.resolve("libops.so"), "");
        assertThat(ModelDirectory.open(directory).customOpLibrary()).isEqualTo(directory.resolve("libops.so"));
    }

    @Test
    void aCustomOperatorLibraryOfAnotherPlatformOrOutsideTheDirectoryIsRefused() throws IOException {
        Files.writeString(directory.resolve("libops.so"), "");
        write(MANIFEST.strip().replaceAll("}$",
                ", \"custom_ops\": {\"library\": \"libops.so\", \"platform\": \"plan9-mips\"}}"), GENAI_CONFIG);
        assertThatThrownBy(() -> ModelDirectory.open(directory))
            .hasMessageContaining("holds custom operators built for plan9-mips, and this is " + ModelDirectory.platform())
            .hasMessageContaining("--moe-kernel graph");

        write(MANIFEST.strip().replaceAll("}$", ", \"custom_ops\": {\"library\": \"../libops.so\", \"platform\": \""
                + ModelDirectory.platform() + "\"}}"), GENAI_CONFIG);
        assertThatThrownBy(() -> ModelDirectory.open(directory))
            .hasMessageContaining("names the custom operator library '../libops.so', which is not a file name in the directory");
    }

    @Test
    void aDirectoryWithoutCustomOperatorsHasNoLibrary() throws IOException {
        write(MANIFEST, GENAI_CONFIG);

        assertThat(ModelDirectory.open(directory).customOpLibrary()).isNull();
    }
}
