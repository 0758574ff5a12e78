package dev.kotodama.ai;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import dev.kotodama.KotodamaApplication;
import dev.kotodama.engine.Engine;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.web.reactive.function.client.WebClient;
import reactor.core.publisher.Flux;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;
import reactor.netty.resources.LoopResources;

import static org.assertj.core.api.Assertions.assertThat;

/** The app as operators see it: readiness around the warm-up, the model's info, metrics, graceful shutdown. */
class OperationsIT {

    private static WebTestClient client(int port) {
        return WebTestClient.bindToServer().baseUrl("http://localhost:" + port).responseTimeout(Duration.ofMinutes(1))
            .build();
    }

    /** A warm-up that waits until the test lets it run: the time a large model takes to warm up. */
    @TestConfiguration
    static class HeldWarmUp {

        static final CountDownLatch release = new CountDownLatch(1);

        @Bean
        EngineWarmUp kotodamaWarmUp(Engine engine) {
            return new EngineWarmUp(engine) {
                @Override
                void run() {
                    try {
                        release.await(2, TimeUnit.MINUTES);
                    }
                    catch (InterruptedException ex) {
                        Thread.currentThread().interrupt();
                    }
                    super.run();
                }
            };
        }
    }

    @Nested
    @SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
            classes = { KotodamaApplication.class, HeldWarmUp.class })
    class WhileTheModelWarmsUp {

        @LocalServerPort
        int port;

        @Test
        void readinessIsOutOfServiceUntilTheWarmUpHasRunWhileLivenessIsUp() throws InterruptedException {
            client(port).get().uri("/actuator/health/liveness").exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.status").isEqualTo("UP")
                .jsonPath("$.components.engine.status").isEqualTo("UP");
            client(port).get().uri("/actuator/health/readiness").exchange().expectStatus().isEqualTo(503)
                .expectBody().jsonPath("$.status").isEqualTo("OUT_OF_SERVICE");
            client(port).get().uri("/actuator/health").exchange().expectStatus().isEqualTo(503)
                .expectBody().jsonPath("$.components.model.details.reason").isEqualTo("warming up");

            HeldWarmUp.release.countDown();
            int status = 0;
            for (int i = 0; i < 300 && status != 200; i++) {
                Thread.sleep(100);
                status = client(port).get().uri("/actuator/health/readiness").exchange().returnResult(String.class)
                    .getStatus().value();
            }
            assertThat(status).isEqualTo(200);
            client(port).get().uri("/actuator/health/readiness").exchange().expectBody().jsonPath("$.status")
                .isEqualTo("UP");
        }
    }

    @Nested
    @SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, classes = KotodamaApplication.class,
            properties = "kotodama.chat.temperature=0")
    class WhenServing {

        @LocalServerPort
        int port;

        @Test
        void infoNamesTheModelTheProviderInUseAndThePrecision() {
            client(port).get().uri("/actuator/info").exchange().expectStatus().isOk().expectBody()
                .jsonPath("$.model.id").isEqualTo("kotodama-demo")
                .jsonPath("$.model.demo").isEqualTo(true)
                .jsonPath("$.model.provider").isEqualTo("cpu")
                .jsonPath("$.model.precision").isEqualTo("fp32")
                .jsonPath("$.model.target").isEqualTo("cpu");
        }

        @Test
        void afterOneChatThePrometheusEndpointHasTheEngineMeters() {
            client(port).post().uri("/api/chat").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"messages\":[{\"role\":\"user\",\"content\":\"What is 23 + 45?\"}]}").exchange()
                .expectStatus().isOk().returnResult(String.class).getResponseBody().blockLast(Duration.ofMinutes(1));
            String metrics = client(port).get().uri("/actuator/prometheus").exchange().expectStatus().isOk()
                .expectBody(String.class).returnResult().getResponseBody();
            assertThat(metrics).contains("kotodama_generations_active ", "kotodama_generations_queued ",
                    "kotodama_kv_cache_reserved_bytes ", "kotodama_provider_fallbacks_total{used=\"cpu\"}",
                    "kotodama_time_to_first_token_seconds_bucket{", "kotodama_token_latency_seconds_bucket{",
                    "kotodama_generations_total{reason=\"stop\"}");
            double tokens = metrics.lines().filter(line -> line.startsWith("kotodama_tokens_generated_total "))
                .mapToDouble(line -> Double.parseDouble(line.substring(line.indexOf(' ') + 1))).findFirst().orElse(0);
            assertThat(tokens).as("tokens of the warm-up and the chat").isGreaterThan(10);
        }
    }

    /** The demo model slowed to a token every 20 ms that never stops: a generation that outlives the grace. */
    @TestConfiguration
    static class EndlessAnswers {

        @Bean(destroyMethod = "close")
        Engine kotodamaEngine(ServedModel model, KotodamaProperties properties) {
            return PacedEngines.endless(model, properties, step -> 20);
        }
    }

    @Test
    void atShutdownARunningStreamEndsWithFinishReasonShutdownAfterTheGrace() {
        ConfigurableApplicationContext app = new SpringApplicationBuilder(KotodamaApplication.class, EndlessAnswers.class)
            .run("--server.port=0", "--kotodama.shutdown-grace=1s");
        int port = app.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
        // The client has event loops and connections of its own, as a client in another process has: closing
        // the app disposes Reactor Netty's global ones (Spring's ReactorResourceFactory stops after the web
        // server), which WebClient.create() would share, and that could close the client's connection before
        // it read the stream's last bytes (a flake seen once in CI: PrematureCloseException).
        LoopResources clientLoops = LoopResources.create("operations-it-client", 1, true);
        List<ServerSentEvent<String>> events;
        long closeMillis;
        try {
            WebClient client = WebClient.builder().clientConnector(new ReactorClientHttpConnector(
                    HttpClient.create(ConnectionProvider.newConnection()).runOn(clientLoops))).build();
            Flux<ServerSentEvent<String>> stream = client.post().uri("http://localhost:" + port + "/api/chat")
                .contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}],\"options\":{\"maxTokens\":900}}")
                .retrieve().bodyToFlux(new ParameterizedTypeReference<ServerSentEvent<String>>() { }).cache();
            stream.filter(event -> "answer".equals(event.event())).blockFirst(Duration.ofSeconds(30));

            long started = System.nanoTime();
            app.close();
            closeMillis = (System.nanoTime() - started) / 1_000_000;

            events = stream.collectList().block(Duration.ofSeconds(30));
        }
        finally {
            clientLoops.disposeLater().block(Duration.ofSeconds(10));
        }
        assertThat(events).isNotNull();
        ServerSentEvent<String> last = events.get(events.size() - 1);
        assertThat(last.event()).isEqualTo("done");
        assertThat(last.data()).isEqualTo("{\"finishReason\":\"shutdown\"}");
        assertThat(events.get(events.size() - 2).event()).isEqualTo("usage");
        assertThat(events.stream().filter(event -> "answer".equals(event.event())).count())
            .as("the stream ran on during the grace").isGreaterThan(20);
        assertThat(closeMillis).as("the grace of 1 s, then a prompt stop").isBetween(900L, 15_000L);
    }

    @Test
    void duringTheShutdownDelayReadinessRefusesTrafficWhileNewChatsAreStillAnswered() throws Exception {
        ConfigurableApplicationContext app = new SpringApplicationBuilder(KotodamaApplication.class)
            .run("--server.port=0", "--kotodama.shutdown-delay=3s");
        int port = app.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
        WebTestClient client = client(port);
        client.get().uri("/actuator/health/readiness").exchange().expectStatus().isOk();

        long started = System.nanoTime();
        Thread closing = new Thread(app::close);
        closing.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        int readiness = 200;
        while (readiness == 200 && System.nanoTime() < deadline) {
            readiness = client.get().uri("/actuator/health/readiness").exchange().returnResult(String.class)
                .getStatus().value();
        }
        assertThat(readiness).as("readiness once the shutdown began").isEqualTo(503);
        client.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
            .bodyValue("{\"messages\":[{\"role\":\"user\",\"content\":\"1+1\"}],\"max_tokens\":8}")
            .exchange().expectStatus().isOk();
        closing.join(TimeUnit.SECONDS.toMillis(30));
        assertThat((System.nanoTime() - started) / 1_000_000).as("the close waited out the delay")
            .isGreaterThanOrEqualTo(3000L);
    }
}
