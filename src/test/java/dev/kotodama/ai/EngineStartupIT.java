package dev.kotodama.ai;

import dev.kotodama.KotodamaApplication;
import dev.kotodama.TestModels;
import dev.kotodama.engine.Engine;
import dev.kotodama.engine.ExecutionProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIf;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Starting the application on a model directory: it loads, or it stops with one line saying why. */
@ExtendWith(OutputCaptureExtension.class)
class EngineStartupIT {

    private static ConfigurableApplicationContext start(String... arguments) {
        return new SpringApplicationBuilder(KotodamaApplication.class).web(WebApplicationType.NONE).run(arguments);
    }

    @Test
    void aValidModelDirectoryGivesAnEngineOnTheCpu() {
        try (ConfigurableApplicationContext context = start("--kotodama.model-dir=" + TestModels.resolve("tiny-int4"),
                "--kotodama.execution-provider=cpu")) {
            Engine engine = context.getBean(Engine.class);

            assertThat(engine.decoder().provider().used()).isEqualTo(ExecutionProvider.CPU);
            assertThat(engine.decoder().directory().manifest().precision()).isEqualTo("int4");
        }
    }

    @Test
    void aMissingModelDirectoryStopsStartupWithOneLine(CapturedOutput output) {
        assertThatThrownBy(() -> start("--kotodama.model-dir=/nonexistent/model")).isNotNull();

        assertThat(output).contains("APPLICATION FAILED TO START")
            .contains("\nmodel directory /nonexistent/model does not exist or is not a directory\n")
            .contains("Point kotodama.model-dir at a directory written by export/kotodama-export convert");
    }

    @Test
    void anUnknownProviderNameListsTheValidOnes(CapturedOutput output) {
        assertThatThrownBy(() -> start("--kotodama.model-dir=" + TestModels.resolve("tiny-int4"),
                "--kotodama.execution-provider=gpu2")).isNotNull();

        assertThat(output).contains("kotodama.execution-provider").contains("gpu2").contains("AUTO").contains("CUDA").contains("CPU");
    }

    @Test
    @DisabledIf("gpuPresent")
    void cudaWithoutCudaStopsStartupWithTheReason(CapturedOutput output) {
        assertThatThrownBy(() -> start("--kotodama.model-dir=" + TestModels.resolve("tiny-int4"),
                "--kotodama.execution-provider=cuda")).isNotNull();

        assertThat(output).contains("APPLICATION FAILED TO START")
            .contains("CUDA")
            .contains("set kotodama.execution-provider to auto or cpu");
    }

    static boolean gpuPresent() {
        return new java.io.File("/dev/nvidiactl").exists();
    }
}
