package dev.kotodama.engine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.kotodama.io.Sha256;
import dev.kotodama.io.StagedDirectory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ONNX Runtime's optimized graph of a model directory, saved at the first load and loaded at later
 * ones with graph optimization off, so that they skip the rewriting.
 *
 * <p>An entry is keyed by the directory's {@code model.onnx} and {@code kotodama.json}, the provider,
 * the optimization level, ONNX Runtime's version and the processor: an optimized graph may hold nodes
 * that only that provider, version and processor run. It is a folder with {@code model.onnx} and its weights in
 * {@code model.onnx.data}, written beside its place and renamed into it, so that an interrupted first
 * load leaves nothing that a later one would take for an entry.
 */
public final class OptimizedModelCache {

    static final String MODEL = "model.onnx";

    static final String DATA = "model.onnx.data";

    private static final Logger logger = LoggerFactory.getLogger(OptimizedModelCache.class);

    private final Path root;

    /** @param root the folder that holds the entries; created when needed */
    public OptimizedModelCache(Path root) {
        this.root = Objects.requireNonNull(root, "root must not be null");
    }

    /**
     * A session on the cached optimized graph, or, without an entry, a session on the directory's graph
     * that saves its optimized graph as the entry.
     *
     * @param options the options of the session, for {@code provider}; changed here (the saved path, or
     *     optimization off for a cached graph)
     * @param level the optimization level that {@code options} carry
     * @throws UncheckedIOException when the cache folder cannot be written
     * @throws ModelDirectoryException when the cached graph cannot be loaded
     */
    OrtSession open(OrtEnvironment environment, ModelDirectory directory, OrtSession.SessionOptions options,
            ExecutionProvider provider, OptLevel level) throws OrtException {
        Path entry = root.resolve(key(directory, provider, level, environment.getVersion()));
        if (Files.isRegularFile(entry.resolve(MODEL))) {
            long started = System.nanoTime();
            options.setOptimizationLevel(OptLevel.NO_OPT);
            OrtSession session;
            try {
                session = environment.createSession(entry.resolve(MODEL).toString(), options);
            }
            catch (OrtException ex) {
                throw new ModelDirectoryException("the optimized-model cache entry " + entry + " of " + directory.path()
                        + " cannot be loaded (" + OrtErrors.firstLine(ex.getMessage())
                        + "); delete that folder and the next load writes it again", ex);
            }
            logger.info("loaded the optimized graph of {} from {} in {} ms", directory.path(), entry,
                    (System.nanoTime() - started) / 1_000_000);
            return session;
        }
        AtomicReference<OrtSession> created = new AtomicReference<>();
        try {
            StagedDirectory.create(entry, staging -> {
                try {
                    options.setOptimizedModelFilePath(staging.resolve(MODEL).toString());
                    // weights of any size go to one file beside the graph (a graph file holds at most 2 GB)
                    options.addConfigEntry("session.optimized_model_external_initializers_file_name", DATA);
                    created.set(environment.createSession(directory.modelFile().toString(), options));
                }
                catch (OrtException ex) {
                    throw new OrtFailure(ex);
                }
            });
        }
        catch (OrtFailure failure) {
            throw failure.ortException();
        }
        catch (IOException ex) {
            if (created.get() != null) {
                created.get().close();
            }
            throw new UncheckedIOException("cannot write the optimized-model cache " + root + ": " + ex.getMessage(), ex);
        }
        if (created.get() == null) { // another process saved the entry between the check and the staging
            return open(environment, directory, options, provider, level);
        }
        logger.info("saved the optimized graph of {} to {}", directory.path(), entry);
        return created.get();
    }

    /** The entry's folder name: what the graph is, and what rewrote it. */
    static String key(ModelDirectory directory, ExecutionProvider provider, OptLevel level, String ortVersion) {
        MessageDigest digest = Sha256.digest();
        try {
            digest.update(Files.readAllBytes(directory.modelFile()));
            digest.update(Files.readAllBytes(directory.path().resolve(ModelDirectory.MANIFEST)));
        }
        catch (IOException ex) {
            throw new UncheckedIOException("cannot read " + directory.path() + ": " + ex.getMessage(), ex);
        }
        digest.update((provider + "/" + level + "/" + ortVersion + "/" + processor()).getBytes(StandardCharsets.UTF_8));
        String name = directory.path().toAbsolutePath().normalize().getFileName().toString();
        return name + "-" + provider.name().toLowerCase(Locale.ROOT) + "-"
                + HexFormat.of().formatHex(digest.digest(), 0, 8);
    }

    /**
     * The processor, as far as Java can tell: ONNX Runtime's CPU optimizations (NCHWc layouts) may suit
     * only the processor they ran on, so a cache folder shared between machines keeps one entry each.
     */
    static String processor() {
        String model = "";
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            model = lines.filter(line -> line.startsWith("model name")).findFirst().orElse("");
        }
        catch (IOException | UncheckedIOException ex) {
            // not Linux, or not readable: the architecture alone
        }
        return System.getProperty("os.arch") + " " + model;
    }

    /** Carries ONNX Runtime's failure out of the staging filler, which may throw only IOException. */
    private static final class OrtFailure extends RuntimeException {

        OrtFailure(OrtException cause) {
            super(cause);
        }

        OrtException ortException() {
            return (OrtException) getCause();
        }
    }
}
