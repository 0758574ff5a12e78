package dev.kotodama.ai;

import java.time.Duration;
import java.util.List;

import dev.kotodama.TestModels;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Another Spring Boot application (not the Kotodama one: no component scan of dev.kotodama, only
 * auto-configuration) that sets kotodama.model-dir, injects the ChatModel and streams through
 * ChatClient. On the tiny export the tokens are nonsense, so only the flow is checked here; with a
 * trained model the chunks also carry reasoning.
 */
class ConsumerApplicationIT {

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class ConsumerApplication {
    }

    @Test
    void anApplicationWithTheDependencyAndOnePropertyStreamsThroughChatClient() {
        try (ConfigurableApplicationContext context = new SpringApplicationBuilder(ConsumerApplication.class)
            .web(WebApplicationType.NONE)
            .run("--kotodama.model-dir=" + TestModels.resolve("tiny-fp32"), "--kotodama.execution-provider=cpu",
                    "--kotodama.chat.max-tokens=16")) {
            ChatClient chatClient = ChatClient.create(context.getBean(ChatModel.class));

            List<ChatResponse> chunks = chatClient.prompt().user("日本の首都は？").stream().chatResponse()
                .collectList().block(Duration.ofMinutes(1));

            assertThat(chunks).isNotEmpty();
            ChatResponse last = chunks.get(chunks.size() - 1);
            assertThat(last.getResult().getMetadata().getFinishReason()).isIn("stop", "length");
            assertThat(last.getMetadata().getModel()).isEqualTo("tiny-fp32");
            assertThat(last.getMetadata().getUsage().getCompletionTokens()).isBetween(1, 16);
        }
    }
}
