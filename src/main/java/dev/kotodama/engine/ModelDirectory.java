package dev.kotodama.engine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

import org.jspecify.annotations.Nullable;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * An exported model directory, checked before anything is loaded from it (docs/model-directory.md).
 *
 * @param path the directory
 * @param manifest {@code kotodama.json}
 * @param decoder the graph's shape and names from {@code genai_config.json}
 */
public record ModelDirectory(Path path, ModelManifest manifest, DecoderSpec decoder) {

    static final String MANIFEST = "kotodama.json";

    static final String GENAI_CONFIG = "genai_config.json";

    static final String FORMAT = "kotodama-model/1";

    private static final List<String> REQUIRED =
            List.of(MANIFEST, GENAI_CONFIG, "model.onnx", "model.onnx.data", "tokenizer.json");

    public ModelDirectory {
        Objects.requireNonNull(path, "path must not be null");
        Objects.requireNonNull(manifest, "manifest must not be null");
        Objects.requireNonNull(decoder, "decoder must not be null");
    }

    /** The graph file. */
    public Path modelFile() {
        return path.resolve("model.onnx");
    }

    /** The directory's custom operator library, which every session of its graph registers, or null. */
    public @Nullable Path customOpLibrary() {
        ModelManifest.CustomOps ops = manifest.customOps();
        return ops == null ? null : path.resolve(ops.library());
    }

    /** This JVM's platform as the exporter names it ({@code linux-x86_64}, {@code linux-aarch64}). */
    static String platform() {
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT).replaceAll("\\s.*", "");
        return os + "-" + (arch.equals("amd64") ? "x86_64" : arch);
    }

    /**
     * Reads and checks a model directory.
     *
     * @throws ModelDirectoryException naming the directory and what to fix
     */
    public static ModelDirectory open(Path path) {
        Objects.requireNonNull(path, "path must not be null");
        if (!Files.isDirectory(path)) {
            throw invalid(path, "does not exist or is not a directory");
        }
        List<String> missing = new ArrayList<>();
        for (String name : REQUIRED) {
            if (!Files.isRegularFile(path.resolve(name))) {
                missing.add(name);
            }
        }
        if (!missing.isEmpty()) {
            throw invalid(path, "is missing " + String.join(", ", missing)
                    + "; export a model with export/kotodama-export convert");
        }
        ModelManifest manifest = readManifest(path);
        checkCustomOps(path, manifest.customOps());
        return new ModelDirectory(path, manifest, readDecoder(path));
    }

    private static void checkCustomOps(Path path, ModelManifest.@Nullable CustomOps ops) {
        if (ops == null) {
            return;
        }
        if (ops.library().isEmpty() || ops.library().contains("/") || ops.library().contains("\\")
                || ops.library().startsWith(".")) {
            throw invalid(path, MANIFEST + " names the custom operator library '" + ops.library()
                    + "', which is not a file name in the directory; export the model again");
        }
        if (!Files.isRegularFile(path.resolve(ops.library()))) {
            throw invalid(path, "is missing " + ops.library() + ", the library of its graph's custom operators;"
                    + " copy the whole directory, or export it again");
        }
        if (!ops.platform().equals(platform())) {
            throw invalid(path, "holds custom operators built for " + ops.platform() + ", and this is "
                    + platform() + "; export it on this platform, or with --moe-kernel graph");
        }
    }

    private static ModelManifest readManifest(Path path) {
        JsonNode json = readJson(path, MANIFEST);
        String format = json.path("format").asString("");
        if (!FORMAT.equals(format)) {
            throw invalid(path, MANIFEST + " has format '" + format + "', this runtime reads '" + FORMAT
                    + "'; export the model again with this version of export/");
        }
        try {
            List<Integer> stops = new ArrayList<>();
            json.path("stop_token_ids").forEach(id -> stops.add(id.asInt()));
            JsonNode ops = json.path("custom_ops");
            ModelManifest.CustomOps customOps = ops.isMissingNode() || ops.isNull() ? null
                    : new ModelManifest.CustomOps(ops.path("library").asString(""), ops.path("platform").asString(""));
            return new ModelManifest(required(json, "target", path, MANIFEST).asString(),
                    required(json, "precision", path, MANIFEST).asString(),
                    TensorType.fromManifest(required(json, "kv_cache_dtype", path, MANIFEST).asString()),
                    required(json, "context_length", path, MANIFEST).asInt(),
                    required(json, "vocab_size", path, MANIFEST).asInt(), stops,
                    json.path("chat_format").asString("template"), customOps);
        }
        catch (IllegalArgumentException ex) {
            throw invalid(path, MANIFEST + ": " + ex.getMessage());
        }
    }

    private static DecoderSpec readDecoder(Path path) {
        JsonNode decoder = readJson(path, GENAI_CONFIG).path("model").path("decoder");
        JsonNode inputs = decoder.path("inputs");
        JsonNode outputs = decoder.path("outputs");
        try {
            return new DecoderSpec(required(decoder, "num_hidden_layers", path, GENAI_CONFIG).asInt(),
                    required(decoder, "num_key_value_heads", path, GENAI_CONFIG).asInt(),
                    required(decoder, "head_size", path, GENAI_CONFIG).asInt(),
                    inputs.path("past_key_names").asString("past_key_values.%d.key"),
                    inputs.path("past_value_names").asString("past_key_values.%d.value"),
                    outputs.path("present_key_names").asString("present.%d.key"),
                    outputs.path("present_value_names").asString("present.%d.value"));
        }
        catch (IllegalArgumentException ex) {
            throw invalid(path, GENAI_CONFIG + ": " + ex.getMessage());
        }
    }

    private static JsonNode required(JsonNode json, String field, Path path, String file) {
        JsonNode value = json.path(field);
        if (value.isMissingNode() || value.isNull()) {
            throw invalid(path, file + " lacks the field '" + field + "'; export the model again");
        }
        return value;
    }

    private static JsonNode readJson(Path path, String name) {
        try {
            return JsonMapper.shared().readTree(path.resolve(name).toFile());
        }
        catch (JacksonException ex) {
            throw invalid(path, name + " is not valid JSON (" + ex.getOriginalMessage() + ")");
        }
    }

    private static ModelDirectoryException invalid(Path path, String problem) {
        return new ModelDirectoryException("model directory " + path + " " + problem);
    }
}
