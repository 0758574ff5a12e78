package dev.kotodama;

import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.core.env.Environment;

import static org.assertj.core.api.Assertions.assertThat;

@SpringBootTest
class KotodamaApplicationTests {

    @Test
    void startsWithNoModelConfigured(@Autowired Environment environment) {
        assertThat(environment.getProperty("kotodama.model-dir")).isEmpty();
        assertThat(environment.getProperty("kotodama.execution-provider")).isEqualTo("auto");
    }
}
