package example.consumer;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.ConfigurableEnvironment;
import tools.jackson.databind.json.JsonMapper;

/**
 * Prints, as one JSON line, what an application gets from the dependency: its ChatModel beans, Kotodama's
 * answer to a sum when it is one of them, the properties that Kotodama's own application sets (none of
 * which a consumer should inherit) and the property sources.
 */
@SpringBootApplication
public class ConsumerApplication {

    static final List<String> APP_PROPERTIES = List.of("server.shutdown", "spring.reactor.context-propagation",
            "management.endpoints.web.exposure.include", "management.endpoint.health.show-details",
            "management.endpoint.health.probes.enabled", "kotodama.demo-model");

    public static void main(String[] args) {
        try (ConfigurableApplicationContext context = SpringApplication.run(ConsumerApplication.class, args)) {
            Map<String, Object> report = new LinkedHashMap<>();
            Map<String, String> models = new LinkedHashMap<>();
            context.getBeansOfType(ChatModel.class).forEach((name, model) -> models.put(name, model.getClass().getName()));
            report.put("chatModels", models);
            context.getBeansOfType(ChatModel.class).values().stream()
                .filter(model -> model.getClass().getName().startsWith("dev.kotodama."))
                .findFirst()
                .ifPresent(model -> report.put("answer", model.call(new Prompt("What is 23 + 45?",
                        ChatOptions.builder().temperature(0.0).build())).getResult().getOutput().getText()));
            ConfigurableEnvironment environment = context.getEnvironment();
            Map<String, String> properties = new LinkedHashMap<>();
            APP_PROPERTIES.forEach(name -> properties.put(name, environment.getProperty(name)));
            report.put("appProperties", properties);
            report.put("propertySources", environment.getPropertySources().stream().map(source -> source.getName()).toList());
            System.out.println(JsonMapper.shared().writeValueAsString(report));
        }
    }
}
