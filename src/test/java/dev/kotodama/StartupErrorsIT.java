package dev.kotodama;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import dev.kotodama.demo.DemoModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * The app jar started as an operator starts it, with a configuration it cannot run: it must exit with a
 * non-zero code and say what is wrong in one line (Spring Boot's failure report), without a stack trace.
 */
class StartupErrorsIT {

    private record Run(int exitCode, String output) {

        /** The report's one-line description of the error. */
        String description() {
            List<String> lines = output.lines().toList();
            int at = lines.indexOf("Description:");
            assertThat(at).as("a failure report in:%n%s", output).isNotNegative();
            return lines.get(at + 2);
        }
    }

    private static Path appJar() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("target"))) {
            return files.filter(file -> file.getFileName().toString().matches("kotodama-.*-exec\\.jar")).findFirst()
                .orElseThrow(() -> new IllegalStateException("no app jar in target/: run ./mvnw verify, which packages it first"));
        }
    }

    private static Run start(String... arguments) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", appJar().toString()));
        command.addAll(List.of(arguments));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] output = process.getInputStream().readAllBytes();
        assertThat(process.waitFor(2, TimeUnit.MINUTES)).as("the app exits").isTrue();
        Run run = new Run(process.exitValue(), new String(output, StandardCharsets.UTF_8));
        assertThat(run.exitCode()).as("exit code; output:%n%s", run.output()).isNotZero();
        assertThat(run.output()).as("no stack trace").doesNotContain("\tat ");
        return run;
    }

    @Test
    void aMissingModelDirectory(@TempDir Path temp) throws Exception {
        Path missing = temp.resolve("llm-jp-4-8b-cpu-int4");
        assertThat(start("--kotodama.model-dir=" + missing, "--server.port=0").description())
            .isEqualTo("model directory " + missing + " does not exist or is not a directory");
    }

    @Test
    void anInvalidManifest(@TempDir Path temp) throws Exception {
        Path model = DemoModel.extract(temp.resolve("cache"));
        Files.writeString(model.resolve("kotodama.json"), "{\"target\": \"cpu\", \"precision\": ");
        assertThat(start("--kotodama.model-dir=" + model, "--server.port=0").description())
            .startsWith("model directory " + model + " kotodama.json is not valid JSON");
    }

    @Test
    void cudaRequiredWhereItDoesNotLoad() throws Exception {
        assumeFalse(Files.exists(Path.of("/dev/nvidia0")), "this machine has an NVIDIA GPU");
        assertThat(start("--kotodama.execution-provider=cuda", "--server.port=0").description())
            .startsWith("CUDA execution provider unavailable: ")
            .contains("put the CUDA 12 user libraries and cuDNN 9 on the library path");
    }

    @Test
    void aPortThatIsTaken() throws Exception {
        try (ServerSocket taken = new ServerSocket(0)) {
            assertThat(start("--server.port=" + taken.getLocalPort(), "--kotodama.execution-provider=cpu").description())
                .isEqualTo("Web server failed to start. Port " + taken.getLocalPort() + " was already in use.");
        }
    }

    @Test
    void anUnknownProvider() throws Exception {
        assertThat(start("--kotodama.execution-provider=gpu", "--server.port=0").output())
            .contains("Failed to bind properties under 'kotodama.execution-provider'")
            .contains("Value: \"gpu\"");
    }

    @Test
    void aKvCacheBudgetOfNothing() throws Exception {
        assertThat(start("--kotodama.kv-cache-budget=0", "--server.port=0").output())
            .contains("Failed to bind properties under 'kotodama'")
            .contains("kotodama.kv-cache-budget must be positive (e.g. 2GB), got 0B");
    }

    @Test
    void aKvCacheBudgetTooSmallForTheBatch() throws Exception {
        assertThat(start("--kotodama.kv-cache-budget=1KB", "--kotodama.max-batch=8", "--server.port=0").output())
            .contains("cannot hold 8 sequences of even two tokens")
            .contains("raise the budget (kotodama.kv-cache-budget) or lower kotodama.max-batch");
    }
}
