package dev.kotodama;

import dev.kotodama.engine.Engine;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.ApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

@SpringBootTest
class KotodamaApplicationTests {

    @Test
    void startsWithoutAModelWhenNoneIsConfigured(@Autowired ApplicationContext context) {
        assertThat(context.getEnvironment().getProperty("kotodama.model-dir")).isNull();
        assertThat(context.getBeansOfType(Engine.class)).isEmpty();
    }
}
