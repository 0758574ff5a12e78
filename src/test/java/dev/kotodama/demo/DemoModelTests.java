package dev.kotodama.demo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import dev.kotodama.engine.ModelDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DemoModelTests {

    @Test
    void extractsAModelDirectoryThatSpeaksHarmony(@TempDir Path cache) {
        ModelDirectory directory = ModelDirectory.open(DemoModel.extract(cache));

        assertThat(directory.path().getFileName()).hasToString(DemoModel.NAME);
        assertThat(directory.manifest().chatFormat()).isEqualTo("harmony");
        assertThat(directory.manifest().target()).isEqualTo("cpu");
        assertThat(directory.path().resolve("chat_template.jinja")).doesNotExist();
    }

    @Test
    void laterStartsReuseTheCopyAndLeaveNothingHalfWritten(@TempDir Path cache) throws IOException {
        Path first = DemoModel.extract(cache);
        long written = Files.getLastModifiedTime(first.resolve("model.onnx.data")).toMillis();

        Path second = DemoModel.extract(cache);

        assertThat(second).isEqualTo(first);
        assertThat(Files.getLastModifiedTime(second.resolve("model.onnx.data")).toMillis()).isEqualTo(written);
        try (Stream<Path> entries = Files.list(cache)) {
            assertThat(entries.map(p -> p.getFileName().toString())).singleElement().asString().startsWith("demo-")
                .doesNotContain("partial");
        }
    }

    @Test
    void anUnwritableCacheSaysWhatToDo(@TempDir Path dir) throws IOException {
        Path notADirectory = Files.writeString(dir.resolve("file"), "x");

        assertThatThrownBy(() -> DemoModel.extract(notADirectory)).isInstanceOf(UncheckedIOException.class)
            .hasMessageContaining("cannot copy the demo model into " + notADirectory)
            .hasMessageContaining("kotodama.model-dir");
    }
}
