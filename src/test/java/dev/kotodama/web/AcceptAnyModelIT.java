package dev.kotodama.web;

import java.time.Duration;

import dev.kotodama.demo.DemoModel;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;

/** With {@code kotodama.web.accept-any-model}, any model name is answered by the served model. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = { "kotodama.web.accept-any-model=true" })
class AcceptAnyModelIT {

    @LocalServerPort
    int port;

    @Test
    void anyModelNameIsAnsweredByTheServedModel() {
        WebTestClient.bindToServer().baseUrl("http://localhost:" + port).responseTimeout(Duration.ofMinutes(1)).build()
            .post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
            .bodyValue("{\"model\": \"gpt-4o\", \"max_tokens\": 2, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}")
            .exchange().expectStatus().isOk()
            .expectBody().jsonPath("$.model").isEqualTo(DemoModel.NAME);
    }
}
