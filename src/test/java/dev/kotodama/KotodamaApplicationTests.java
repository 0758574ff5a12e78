package dev.kotodama;

import dev.kotodama.ai.ServedModel;
import dev.kotodama.demo.DemoModel;
import dev.kotodama.engine.Engine;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

@ExtendWith(OutputCaptureExtension.class)
class KotodamaApplicationTests {

    @Nested
    @SpringBootTest
    class WithoutConfiguration {

        @Test
        void servesTheEmbeddedDemoModelAndSaysHowToServeARealOne(@Autowired ApplicationContext context,
                CapturedOutput output) {
            ServedModel served = context.getBean(ServedModel.class);
            assertThat(served.demo()).isTrue();
            assertThat(served.directory().getFileName()).hasToString(DemoModel.NAME);
            assertThat(context.getBean(Engine.class).decoder().directory().path()).isEqualTo(served.directory());
            assertThat(context.getBeansOfType(ChatModel.class)).hasSize(1);
            assertThat(output).contains("no kotodama.model-dir is set: serving the embedded demo model")
                .contains("export/kotodama-export convert");
        }
    }

    @Nested
    @SpringBootTest(properties = "kotodama.demo-model=false")
    class WithTheDemoModelOff {

        @Test
        void startsWithoutAModelAndSaysHowToGetOne(@Autowired ApplicationContext context, CapturedOutput output) {
            assertThat(context.getBeansOfType(Engine.class)).isEmpty();
            assertThat(context.getBeansOfType(ChatModel.class)).isEmpty();
            assertThat(output).contains("no model is served: kotodama.demo-model is false and kotodama.model-dir is unset");
        }
    }
}
