package dev.kotodama;

import java.util.Map;

import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.config.ConfigDataEnvironmentPostProcessor;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Imports the Kotodama application's own configuration ({@value #LOCATION}: graceful shutdown, the
 * actuator's exposure and probes, the demo model) when the application is {@link KotodamaApplication},
 * as the exec jar or a test of the app runs it, and never in an application that only depends on the
 * library: the library's jar has no {@code application.yml} at its root for such an application to
 * inherit. Imported as {@code spring.config.import}, the file is config data like an
 * {@code application.yml}: the environment, the command line and the operator's own files override it.
 */
class KotodamaApplicationConfiguration implements EnvironmentPostProcessor, Ordered {

    static final String LOCATION = "classpath:/dev/kotodama/application.yml";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        if (application.getAllSources().contains(KotodamaApplication.class)) {
            environment.getPropertySources().addLast(new MapPropertySource("kotodamaApplicationConfiguration",
                    Map.of("spring.config.import", LOCATION)));
        }
    }

    /** Before the config data are read, so that they take the import. */
    @Override
    public int getOrder() {
        return ConfigDataEnvironmentPostProcessor.ORDER - 1;
    }
}
