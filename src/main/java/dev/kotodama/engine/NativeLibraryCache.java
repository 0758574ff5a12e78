package dev.kotodama.engine;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.net.URLConnection;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import dev.kotodama.io.Sha256;
import dev.kotodama.io.StagedDirectory;

/**
 * ONNX Runtime's native libraries, unpacked once into a cache folder instead of into a new temporary
 * folder at every start. The {@code onnxruntime_gpu} jar unpacks about 600 MB there whenever the CUDA
 * provider is tried, and leaves the folder behind when the JVM is killed.
 *
 * <p>{@link #install} must run before any ONNX Runtime class is loaded: it sets
 * {@code onnxruntime.native.path}, which ONNX Runtime reads once. It loads no ONNX Runtime class itself.
 */
public final class NativeLibraryCache {

    /** ONNX Runtime's property: the folder to load its native libraries from. */
    public static final String NATIVE_PATH = "onnxruntime.native.path";

    /** Where the cache lives, overriding the default; {@code off} leaves ONNX Runtime's own unpacking. */
    public static final String ENVIRONMENT = "KOTODAMA_NATIVE_CACHE";

    private static final List<String> LIBRARIES = List.of("onnxruntime", "onnxruntime4j_jni",
            "onnxruntime_providers_shared", "onnxruntime_providers_cuda", "onnxruntime_providers_tensorrt");

    private NativeLibraryCache() {
    }

    /**
     * Points ONNX Runtime at the cached libraries under the default root ({@code $KOTODAMA_NATIVE_CACHE},
     * else {@code $XDG_CACHE_HOME/kotodama}, else {@code ~/.cache/kotodama}), unpacking them on first use.
     * Leaves ONNX Runtime's default when {@code onnxruntime.native.path} is already set or the cache is
     * {@code off}; when the cache cannot be written, says so on stderr in one line and leaves the default.
     */
    public static void installDefault() {
        String configured = System.getenv(ENVIRONMENT);
        if (System.getProperty(NATIVE_PATH) != null || "off".equals(configured)) {
            return;
        }
        Path root;
        if (configured != null && !configured.isBlank()) {
            root = Path.of(configured);
        }
        else {
            String xdg = System.getenv("XDG_CACHE_HOME");
            root = (xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache"))
                .resolve("kotodama");
        }
        try {
            install(root, NativeLibraryCache.class.getClassLoader()).ifPresent(folder -> System.setProperty(NATIVE_PATH,
                    folder.toString()));
        }
        catch (UncheckedIOException ex) {
            System.err.println("kotodama: cannot cache ONNX Runtime's native libraries in " + root + " ("
                    + ex.getCause().getMessage() + "); they are unpacked into the temporary folder at every start. "
                    + "Set " + ENVIRONMENT + " to a writable folder, or to off.");
        }
    }

    /**
     * The folder under {@code root} that holds this platform's libraries of the ONNX Runtime jar on the
     * class path, unpacked unless an earlier start did; empty when that jar has none for this platform.
     *
     * @throws UncheckedIOException when {@code root} cannot be written
     */
    public static Optional<Path> install(Path root, ClassLoader classes) {
        String resources = "ai/onnxruntime/native/" + platform() + "/";
        MessageDigest digest = Sha256.digest();
        boolean any = false;
        for (String library : LIBRARIES) {
            URL url = classes.getResource(resources + System.mapLibraryName(library));
            if (url != null) {
                any = true;
                digest.update((library + ":" + size(url) + ";").getBytes(StandardCharsets.UTF_8));
            }
        }
        if (!any) {
            return Optional.empty();
        }
        Path folder = root.resolve("onnxruntime-" + platform() + "-" + HexFormat.of().formatHex(digest.digest(), 0, 6));
        try {
            return Optional.of(StagedDirectory.create(folder, staging -> {
                for (String library : LIBRARIES) {
                    String file = System.mapLibraryName(library);
                    try (InputStream in = classes.getResourceAsStream(resources + file)) {
                        if (in != null) {
                            Files.copy(in, staging.resolve(file));
                        }
                    }
                }
            }));
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    /** ONNX Runtime's name for this platform's resource folder, as its loader computes it. */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String system = os.contains("mac") || os.contains("darwin") ? "osx" : os.contains("win") ? "win" : "linux";
        String machine = arch.equals("amd64") || arch.equals("x86_64") ? "x64" : arch;
        return system + "-" + machine;
    }

    private static long size(URL url) {
        try {
            URLConnection connection = url.openConnection();
            connection.setUseCaches(false);
            long size = connection.getContentLengthLong();
            try (InputStream ignored = connection.getInputStream()) {
                return size;
            }
        }
        catch (IOException ex) {
            throw new UncheckedIOException("cannot read " + url, ex);
        }
    }

}
