package dev.kotodama.ai;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

import dev.kotodama.TestModels;
import dev.kotodama.demo.DemoModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
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
 * ChatClient: with the trained demo model (reasoning in the chunks, the right answer), and with the
 * tiny export, whose random weights give nonsense tokens (only the flow is checked).
 */
class ConsumerApplicationIT {

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class ConsumerApplication {
    }

    @Test
    void streamsTheDemoModelsReasoningAndAnswerThroughChatClient(@TempDir Path cache) {
        Path demo = DemoModel.extract(cache);
        try (ConfigurableApplicationContext context = new SpringApplicationBuilder(ConsumerApplication.class)
            .web(WebApplicationType.NONE)
            .run("--kotodama.model-dir=" + demo, "--kotodama.chat.temperature=0")) {
            ChatClient chatClient = ChatClient.create(context.getBean(ChatModel.class));

            List<ChatResponse> chunks = chatClient.prompt().user("What is 23 + 45?").stream().chatResponse()
                .collectList().block(Duration.ofMinutes(1));

            assertThat(chunks).hasSizeGreaterThan(2);
            String thinking = chunks.stream()
                .map(chunk -> (String) chunk.getResult().getOutput().getMetadata().getOrDefault("thinking", ""))
                .collect(Collectors.joining());
            String answer = chunks.stream().map(chunk -> chunk.getResult().getOutput().getText())
                .filter(Objects::nonNull).collect(Collectors.joining());
            assertThat(chunks.stream().filter(chunk -> chunk.getResult().getOutput().getMetadata()
                .containsKey("reasoningContent"))).hasSizeGreaterThan(2);
            assertThat(thinking).contains("23 + 45").contains(" → ");
            assertThat(answer).contains("68").doesNotContain(" → ");
            ChatResponse last = chunks.get(chunks.size() - 1);
            assertThat(last.getResult().getMetadata().getFinishReason()).isEqualTo("stop");
            assertThat(last.getMetadata().getModel()).isEqualTo(DemoModel.NAME);
        }
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
