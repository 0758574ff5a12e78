package dev.kotodama.demo;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import dev.kotodama.io.Sha256;
import dev.kotodama.io.StagedDirectory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The demo model in this jar: a Llama of the llm-jp-4-8b shape with about 4M parameters and its own
 * small tokenizer, trained by {@code export/kotodama-export demo} on a synthetic Harmony corpus
 * (arithmetic, unit conversions, greetings, a weather tool). It is not LLM-jp-4; it lets a fresh
 * machine chat at once and gives the end-to-end tests a model that really speaks Harmony.
 *
 * <p>ONNX Runtime reads a model's external data from files, so {@link #extract} copies the directory
 * out of the jar into a cache folder named after the manifest's hash. The copy appears whole or not
 * at all (written beside it, then renamed), and later starts reuse it.
 */
public final class DemoModel {

    /** The model's name: its directory's name, and so the model id in responses. */
    public static final String NAME = "kotodama-demo";

    private static final String RESOURCES = "dev/kotodama/demo/" + NAME + "/";

    private static final String MANIFEST = "kotodama.json";

    private DemoModel() {
    }

    /** The default cache folder: {@code kotodama} in the JVM's temporary directory. */
    public static Path defaultCache() {
        return Path.of(System.getProperty("java.io.tmpdir"), "kotodama");
    }

    /**
     * The demo model directory under {@code cache}, copied out of the jar unless an earlier start did.
     *
     * @throws IllegalStateException when the jar holds no demo model
     * @throws UncheckedIOException when the cache folder cannot be written
     */
    public static Path extract(Path cache) {
        byte[] manifest = read(MANIFEST);
        Path home = cache.resolve("demo-" + HexFormat.of().formatHex(Sha256.of(manifest), 0, 8));
        try {
            StagedDirectory.create(home, staging -> {
                Path target = Files.createDirectory(staging.resolve(NAME));
                for (String file : files(manifest)) {
                    try (InputStream in = open(file)) {
                        Files.copy(in, target.resolve(file));
                    }
                }
                Files.write(target.resolve(MANIFEST), manifest);
            });
        }
        catch (IOException ex) {
            throw new UncheckedIOException("cannot copy the demo model into " + cache
                    + "; make it writable or set kotodama.model-dir to an exported model", ex);
        }
        return home.resolve(NAME);
    }

    private static List<String> files(byte[] manifest) {
        JsonNode listed = JsonMapper.shared().readTree(manifest).path("files");
        List<String> files = new ArrayList<>();
        listed.forEach(node -> files.add(node.asString()));
        if (files.isEmpty()) {
            throw new IllegalStateException("the demo model's " + MANIFEST + " lists no files");
        }
        return files;
    }

    private static byte[] read(String file) {
        try (InputStream in = open(file)) {
            return in.readAllBytes();
        }
        catch (IOException ex) {
            throw new UncheckedIOException("cannot read the demo model's " + file + " from the classpath", ex);
        }
    }

    private static InputStream open(String file) {
        InputStream in = DemoModel.class.getClassLoader().getResourceAsStream(RESOURCES + file);
        if (in == null) {
            throw new IllegalStateException("the demo model's " + file + " is missing from the classpath ("
                    + RESOURCES + "); set kotodama.model-dir to an exported model");
        }
        return in;
    }

}
