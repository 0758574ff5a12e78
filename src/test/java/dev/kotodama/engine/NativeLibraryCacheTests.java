package dev.kotodama.engine;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

class NativeLibraryCacheTests {

    private static final ClassLoader CLASSES = NativeLibraryCacheTests.class.getClassLoader();

    @Test
    void unpacksTheJarsLibrariesOnceAndReusesThem(@TempDir Path root) throws IOException {
        Path folder = NativeLibraryCache.install(root, CLASSES).orElseThrow();
        String core = System.mapLibraryName("onnxruntime");
        String resource = "ai/onnxruntime/native/" + NativeLibraryCache.platform() + "/" + core;
        try (InputStream in = CLASSES.getResourceAsStream(resource)) {
            assertThat(in).as(resource).isNotNull();
            assertThat(Files.size(folder.resolve(core))).isEqualTo(in.readAllBytes().length);
        }
        assertThat(folder.resolve(System.mapLibraryName("onnxruntime4j_jni"))).isRegularFile();
        assertThat(folder.resolve(System.mapLibraryName("onnxruntime_providers_shared"))).isRegularFile();

        FileTime written = Files.getLastModifiedTime(folder.resolve(core));
        assertThat(NativeLibraryCache.install(root, CLASSES)).contains(folder);
        assertThat(Files.getLastModifiedTime(folder.resolve(core))).as("not written again").isEqualTo(written);
    }

    @Test
    void withoutOnnxRuntimeOnTheClassPathThereIsNothingToCache(@TempDir Path root) throws IOException {
        try (URLClassLoader empty = new URLClassLoader(new URL[0], null)) {
            assertThat(NativeLibraryCache.install(root, empty)).isEmpty();
        }
        try (var left = Files.list(root)) {
            assertThat(left).isEmpty();
        }
    }
}
