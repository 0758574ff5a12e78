package dev.kotodama.engine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIf;
import org.slf4j.LoggerFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/**
 * Runs ONNX Runtime's native code. The fallback tests describe a machine without an NVIDIA GPU,
 * where the CUDA provider of the {@code onnxruntime_gpu} jar cannot load.
 */
class SessionOptionsFactoryTests {

    private final OrtEnvironment environment = OrtEnvironment.getEnvironment();

    private final Logger factoryLogger = (Logger) LoggerFactory.getLogger(SessionOptionsFactory.class);

    private final ListAppender<ILoggingEvent> log = new ListAppender<>();

    @BeforeEach
    void captureLog() {
        log.start();
        factoryLogger.addAppender(log);
    }

    @AfterEach
    void releaseLog() {
        factoryLogger.detachAppender(log);
    }

    @Test
    void cpuUsesTheCpuProviderWithoutAReasonOrWarning() throws Exception {
        try (ProviderSessionOptions prepared = new SessionOptionsFactory(environment, 2).create(ExecutionProvider.CPU)) {
            assertThat(prepared.choice()).isEqualTo(new ProviderChoice(ExecutionProvider.CPU, null));
        }
        assertThat(log.list).isEmpty();
    }

    @Test
    void everySessionRegistersTheCustomOperatorLibrary() throws Exception {
        Path notALibrary = Files.writeString(Files.createTempFile("custom-ops", ".so"), "not a shared library");
        try {
            SessionOptionsFactory factory = new SessionOptionsFactory(environment, 2);
            assertThatExceptionOfType(OrtException.class)
                    .isThrownBy(() -> factory.create(ExecutionProvider.CPU, notALibrary))
                    .withMessageContaining(notALibrary.getFileName().toString());
        }
        finally {
            Files.delete(notALibrary);
        }
    }

    @Test
    @DisabledIf("nvidiaGpuPresent")
    void autoFallsBackToCpuAndSaysWhyCudaDidNotLoad() throws Exception {
        try (ProviderSessionOptions prepared = new SessionOptionsFactory(environment, 0).create(ExecutionProvider.AUTO)) {
            assertThat(prepared.choice().used()).isEqualTo(ExecutionProvider.CPU);
            assertThat(prepared.choice().fallbackReason()).containsIgnoringCase("cuda").doesNotContain("\n");
        }
    }

    @Test
    @DisabledIf("nvidiaGpuPresent")
    void autoFallbackLogsOneWarningLineWithTheReasonAndHowToGetCuda() throws Exception {
        try (ProviderSessionOptions prepared = new SessionOptionsFactory(environment, 0).create(ExecutionProvider.AUTO)) {
            List<ILoggingEvent> warnings = log.list.stream().filter(event -> event.getLevel() == Level.WARN).toList();
            assertThat(warnings).singleElement().extracting(ILoggingEvent::getFormattedMessage)
                    .asString()
                    .contains(prepared.choice().fallbackReason(), "CUDA 12", "cuDNN 9", "library path")
                    .doesNotContain("\n");
        }
    }

    @Test
    @DisabledIf("nvidiaGpuPresent")
    void cudaFailsWithAOneLineReasonInsteadOfFallingBack() {
        assertThatExceptionOfType(ProviderUnavailableException.class)
                .isThrownBy(() -> new SessionOptionsFactory(environment, 0).create(ExecutionProvider.CUDA))
                .satisfies(ex -> assertThat(ex.getMessage())
                        .startsWith("CUDA execution provider unavailable: ")
                        .contains(ex.reason(), "CUDA 12", "cuDNN 9")
                        .doesNotContain("\n"));
        assertThat(log.list).isEmpty();
    }

    @Test
    void everyOptimizationLevelIsAccepted() throws Exception {
        for (OptLevel level : OptLevel.values()) {
            try (ProviderSessionOptions prepared = new SessionOptionsFactory(environment, 1, level).create(ExecutionProvider.CPU)) {
                assertThat(prepared.choice().used()).isEqualTo(ExecutionProvider.CPU);
            }
        }
    }

    @Test
    void negativeThreadCountIsRejectedByName() {
        assertThatIllegalArgumentException().isThrownBy(() -> new SessionOptionsFactory(environment, -1))
                .withMessageContaining("intraOpThreads");
    }

    static boolean nvidiaGpuPresent() {
        return Files.exists(Path.of("/dev/nvidiactl"));
    }
}
