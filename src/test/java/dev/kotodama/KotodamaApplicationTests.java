package dev.kotodama;

import dev.kotodama.engine.Engine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

@SpringBootTest
@ExtendWith(OutputCaptureExtension.class)
class KotodamaApplicationTests {

    @Test
    void startsWithoutAModelWhenNoneIsConfiguredAndSaysHowToGetOne(@Autowired ApplicationContext context,
            CapturedOutput output) {
        assertThat(context.getEnvironment().getProperty("kotodama.model-dir")).isNull();
        assertThat(context.getBeansOfType(Engine.class)).isEmpty();
        assertThat(output).contains("no model is served: set kotodama.model-dir");
    }
}
