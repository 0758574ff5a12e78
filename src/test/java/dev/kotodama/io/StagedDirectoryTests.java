package dev.kotodama.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StagedDirectoryTests {

    @Test
    void aFillerThatFailsLeavesNothingBehind(@TempDir Path root) throws IOException {
        Path target = root.resolve("cache").resolve("models");
        assertThatThrownBy(() -> StagedDirectory.create(target, staging -> {
            Files.writeString(staging.resolve("half"), "written");
            throw new IOException("disk full");
        })).hasMessage("disk full");
        try (Stream<Path> left = Files.list(target.getParent())) {
            assertThat(left).isEmpty();
        }
    }

    @Test
    void anExistingDirectoryIsReusedAsItIs(@TempDir Path root) throws IOException {
        Path target = root.resolve("models");
        StagedDirectory.create(target, staging -> Files.writeString(staging.resolve("a"), "first"));
        StagedDirectory.create(target, staging -> Files.writeString(staging.resolve("a"), "second"));
        assertThat(Files.readString(target.resolve("a"))).isEqualTo("first");
    }

    @Test
    void processesRacingToFillItEndWithOneCompleteCopy(@TempDir Path root) throws Exception {
        Path target = root.resolve("models");
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Path>> results = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                String mine = "copy " + i;
                results.add(pool.submit(() -> {
                    go.await();
                    return StagedDirectory.create(target, staging -> {
                        for (int file = 0; file < 20; file++) {
                            Files.writeString(staging.resolve("f" + file), mine);
                        }
                    });
                }));
            }
            go.countDown();
            for (Future<Path> result : results) {
                assertThat(result.get()).isEqualTo(target);
            }
        }
        finally {
            pool.shutdownNow();
        }
        try (Stream<Path> files = Files.list(target)) {
            assertThat(files.map(file -> {
                try {
                    return Files.readString(file);
                }
                catch (IOException ex) {
                    throw new IllegalStateException(ex);
                }
            }).distinct()).hasSize(1);
        }
        try (Stream<Path> siblings = Files.list(root)) {
            assertThat(siblings).containsExactly(target);
        }
    }
}
