package dev.kotodama.web;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import ai.onnxruntime.OrtEnvironment;
import dev.kotodama.ai.EngineWarmUp;
import dev.kotodama.ai.KotodamaProperties;
import dev.kotodama.ai.PacedEngines;
import dev.kotodama.ai.ServedModel;
import dev.kotodama.engine.Decoder;
import dev.kotodama.engine.Engine;
import dev.kotodama.engine.ExecutionProvider;
import dev.kotodama.engine.ModelDirectory;
import dev.kotodama.engine.SessionOptionsFactory;
import dev.kotodama.engine.sampling.Sampler;
import dev.kotodama.tokenizer.LlmJpTokenizer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.model.tool.ToolCallingChatOptions;
import org.springframework.ai.model.tool.ToolCallingManager;
import org.springframework.ai.model.tool.ToolExecutionResult;
import org.springframework.ai.tool.definition.ToolDefinition;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.web.reactive.function.client.WebClient;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;

/** The APIs under load and configuration: busy, disconnects, byte-fallback text, the API key, no model. */
class WebOperationsIT {

    private static final JsonMapper JSON = JsonMapper.shared();

    private static final String LONG_CHAT = "{\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}],"
            + "\"options\":{\"maxTokens\":800}}";

    private static WebTestClient client(int port) {
        return WebTestClient.bindToServer().baseUrl("http://localhost:" + port).responseTimeout(Duration.ofMinutes(1))
            .build();
    }

    /**
     * The demo model whose generations follow a script: by default "<|channel|>final<|message|>" and then
     * one token forever, so that a generation runs to its max tokens (long enough to be busy or to be
     * cut off); or the ids of {@link #script} (the test sets and clears it), where {@link #FAIL} makes
     * sampling fail.
     */
    @TestConfiguration
    static class ScriptedAnswers {

        static final AtomicReference<int[]> script = new AtomicReference<>();

        /** In a script: sampling fails here, as it does on NaN logits. */
        static final int FAIL = -1;

        static LlmJpTokenizer tokenizer;

        @Bean(destroyMethod = "close")
        Engine kotodamaEngine(ServedModel model, KotodamaProperties properties) {
            ModelDirectory directory = ModelDirectory.open(model.directory());
            tokenizer = LlmJpTokenizer.load(directory.path());
            int[] start = tokenizer.encode("<|channel|>final<|message|>");
            int repeat = tokenizer.encodeText("la")[0];
            Decoder decoder = Decoder.load(directory, new SessionOptionsFactory(OrtEnvironment.getEnvironment(), 2),
                    ExecutionProvider.CPU);
            return new Engine(decoder, properties.engineOptions(), request -> {
                int[] ids = script.get() != null ? script.get() : start;
                int[] step = { 0 };
                return (Sampler) (logits, history) -> {
                    int id = step[0] < ids.length ? ids[step[0]++] : repeat;
                    if (id == FAIL) {
                        throw new IllegalArgumentException("a NaN logit");
                    }
                    return id;
                };
            });
        }
    }

    /** A long chat on /api/chat, once the engine runs it (the only generation): dispose of it to end it. */
    private static Disposable startLongChat(int port, Engine engine) {
        Disposable running = WebClient.create("http://localhost:" + port).post().uri("/api/chat")
            .contentType(MediaType.APPLICATION_JSON).bodyValue(LONG_CHAT).retrieve()
            .bodyToFlux(new ParameterizedTypeReference<ServerSentEvent<String>>() { }).subscribe();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (engine.activeCount() < 1 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(engine.activeCount()).isOne();
        return running;
    }

    private static Mono<List<ServerSentEvent<String>>> firstEvents(int port, int count) {
        return WebClient.create("http://localhost:" + port).post().uri("/api/chat")
            .contentType(MediaType.APPLICATION_JSON).bodyValue(LONG_CHAT).retrieve()
            .bodyToFlux(new ParameterizedTypeReference<ServerSentEvent<String>>() { })
            .take(count).collectList();
    }

    /**
     * The status of a request whose path is sent exactly as given (an HTTP client would normalize or
     * encode it), with {@code Authorization: Bearer <key>} unless the key is null.
     */
    private static int rawStatus(int port, String method, String path, @Nullable String key) throws IOException {
        String body = method.equals("POST")
                ? "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"options\":{\"maxTokens\":1}}" : "";
        String request = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + (key != null ? "Authorization: Bearer " + key + "\r\n" : "")
                + "Content-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\nConnection: close\r\n\r\n" + body;
        try (Socket socket = new Socket("localhost", port)) {
            socket.setSoTimeout(30_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
            String status = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8))
                .readLine();
            assertThat(status).as("the status line of %s %s", method, path).startsWith("HTTP/1.1 ");
            return Integer.parseInt(status.split(" ")[1]);
        }
    }

    private static void awaitIdle(Engine engine, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while ((engine.activeCount() > 0 || engine.reservedKvBytes() > 0) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(engine.activeCount()).isZero();
        assertThat(engine.reservedKvBytes()).isZero();
    }

    @Nested
    @SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, classes = {
            dev.kotodama.KotodamaApplication.class, ScriptedAnswers.class },
            properties = { "kotodama.max-queued=0", "kotodama.max-batch=1" })
    @ExtendWith(OutputCaptureExtension.class)
    class WhenFull {

        @LocalServerPort
        int port;

        @Autowired
        Engine engine;

        @Autowired
        EngineWarmUp warmUp;

        @Test
        void aFullServerAnswers429WithRetryAfterAndLogsNoError(CapturedOutput output) throws InterruptedException {
            // the warm-up generation holds the only row for a moment after startup
            long warm = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (warmUp.state() == EngineWarmUp.State.PENDING && System.nanoTime() < warm) {
                Thread.sleep(10);
            }
            assertThat(warmUp.state()).isEqualTo(EngineWarmUp.State.DONE);
            Disposable running = startLongChat(port, engine);
            try {
                client(port).post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                    .bodyValue("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":800}").exchange()
                    .expectStatus().isEqualTo(429)
                    .expectHeader().valueEquals(HttpHeaders.RETRY_AFTER, "1")
                    .expectBody().jsonPath("$.error.code").isEqualTo("server_busy")
                    .jsonPath("$.error.type").isEqualTo("rate_limit_error");
                assertThat(output.getOut()).as("a full server is the client's answer, not the server's error")
                    .doesNotContain(" ERROR ");
            }
            finally {
                running.dispose();
            }
        }
    }

    @Nested
    @SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, classes = {
            dev.kotodama.KotodamaApplication.class, ScriptedAnswers.class },
            properties = "kotodama.web.max-concurrent-per-client=20") // the twenty clients share one address
    @ExtendWith(OutputCaptureExtension.class)
    class WithManyClients {

        @LocalServerPort
        int port;

        @Autowired
        Engine engine;

        @Test
        void twentyClientsThatDropMidStreamLeaveNoGenerationASecondLater() throws InterruptedException {
            List<List<ServerSentEvent<String>>> received = Flux.range(0, 20).flatMap(i -> firstEvents(port, 5), 20)
                .collectList().block(Duration.ofMinutes(1));

            assertThat(received).hasSize(20).allSatisfy(events -> assertThat(events).hasSize(5)
                .allSatisfy(event -> assertThat(event.event()).isEqualTo("answer")));
            awaitIdle(engine, Duration.ofSeconds(1));
        }

        @Test
        void aGenerationThatFailsMidStreamEndsTheStreamWithAnErrorEvent() {
            int[] start = ScriptedAnswers.tokenizer.encode("<|channel|>final<|message|>Hello");
            ScriptedAnswers.script.set(IntStream.concat(Arrays.stream(start), IntStream.of(ScriptedAnswers.FAIL)).toArray());
            try {
                List<ServerSentEvent<String>> events = WebClient.create("http://localhost:" + port).post().uri("/api/chat")
                    .contentType(MediaType.APPLICATION_JSON).bodyValue(LONG_CHAT).retrieve()
                    .bodyToFlux(new ParameterizedTypeReference<ServerSentEvent<String>>() { })
                    .collectList().block(Duration.ofSeconds(30));

                assertThat(events.get(0).event()).isEqualTo("answer");
                ServerSentEvent<String> last = events.get(events.size() - 1);
                assertThat(last.event()).isEqualTo("error");
                assertThat(JSON.readTree(last.data()).path("code").asString()).isEqualTo("generation_failed");
                assertThat(JSON.readTree(last.data()).path("message").asString()).isEqualTo("sampling failed: a NaN logit");
            }
            finally {
                ScriptedAnswers.script.set(null);
            }
        }

        @Test
        void onnxRuntimesErrorReachesTheLogUnderTheRequestIdAndTheClientAGenericMessage(CapturedOutput output) {
            int[] start = ScriptedAnswers.tokenizer.encode("<|channel|>final<|message|>Hello");
            int outsideTheVocabulary = ScriptedAnswers.tokenizer.vocabularySize() + 5; // the next step's Gather fails
            ScriptedAnswers.script.set(IntStream.concat(Arrays.stream(start), IntStream.of(outsideTheVocabulary)).toArray());
            try {
                List<ServerSentEvent<String>> events = WebClient.create("http://localhost:" + port).post().uri("/api/chat")
                    .header("X-Request-Id", "issue-24.test:6").contentType(MediaType.APPLICATION_JSON).bodyValue(LONG_CHAT)
                    .retrieve().bodyToFlux(new ParameterizedTypeReference<ServerSentEvent<String>>() { })
                    .collectList().block(Duration.ofSeconds(30));

                ServerSentEvent<String> last = events.get(events.size() - 1);
                assertThat(last.event()).isEqualTo("error");
                JsonNode error = JSON.readTree(last.data());
                assertThat(error.path("code").asString()).isEqualTo("generation_failed");
                assertThat(error.path("requestId").asString()).isEqualTo("issue-24.test:6");
                assertThat(error.path("message").asString())
                    .isEqualTo("the model failed on this generation (ONNX Runtime); the server log has the details");
                assertThat(output.getAll().lines().filter(line -> line.contains("[issue-24.test:6] "))
                    .filter(line -> line.contains("generation failed in ONNX Runtime"))).hasSize(1);
                assertThat(output.getAll()).contains("OrtException");
            }
            finally {
                ScriptedAnswers.script.set(null);
            }
        }

        @Test
        void japaneseTextArrivesIntactAcrossByteFallbackPieces() {
            String text = "鹿児島は雪🦓、気温は-3度です。";
            int[] answer = ScriptedAnswers.tokenizer.encodeText(text);
            int[] bytes = ScriptedAnswers.tokenizer.encode("<0x00><0xFF>");
            int firstByte = bytes[bytes.length - 2];
            int lastByte = bytes[bytes.length - 1];
            assertThat(lastByte - firstByte).isEqualTo(255);
            assertThat(Arrays.stream(answer).filter(id -> id >= firstByte && id <= lastByte).count())
                .as("byte-fallback pieces in the answer").isGreaterThanOrEqualTo(4);
            ScriptedAnswers.script.set(IntStream.concat(IntStream.concat(
                    Arrays.stream(ScriptedAnswers.tokenizer.encode("<|channel|>final<|message|>")), Arrays.stream(answer)),
                    Arrays.stream(ScriptedAnswers.tokenizer.encode("<|return|>"))).toArray());
            try {
                List<ServerSentEvent<String>> events = WebClient.create("http://localhost:" + port).post().uri("/api/chat")
                    .contentType(MediaType.APPLICATION_JSON).bodyValue(LONG_CHAT).retrieve()
                    .bodyToFlux(new ParameterizedTypeReference<ServerSentEvent<String>>() { })
                    .collectList().block(Duration.ofSeconds(30));

                StringBuilder joined = new StringBuilder();
                events.stream().filter(e -> "answer".equals(e.event())).map(e -> JSON.readTree(e.data()).path("text").asString())
                    .forEach(piece -> {
                        assertThat(piece).doesNotContain("\uFFFD");
                        joined.append(piece);
                    });
                assertThat(joined).hasToString(text);
                assertThat(events.get(events.size() - 1).event()).isEqualTo("done");
            }
            finally {
                ScriptedAnswers.script.set(null);
            }
        }
    }

    @Nested
    @SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = "kotodama.web.api-key=s3cret")
    class WithAnApiKey {

        @LocalServerPort
        int port;

        @Test
        void theApisNeedTheBearerKey() {
            client(port).get().uri("/v1/models").exchange().expectStatus().isUnauthorized()
                .expectHeader().valueEquals(HttpHeaders.WWW_AUTHENTICATE, "Bearer")
                .expectBody().jsonPath("$.error.code").isEqualTo("invalid_api_key");
            client(port).get().uri("/v1/models").header(HttpHeaders.AUTHORIZATION, "Bearer wrong").exchange()
                .expectStatus().isUnauthorized();
            client(port).post().uri("/api/render").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").exchange()
                .expectStatus().isUnauthorized();
            client(port).get().uri("/v1/models").header(HttpHeaders.AUTHORIZATION, "Bearer s3cret").exchange()
                .expectStatus().isOk();
        }

        /** Each protected path, then the same path as the router also reads it, and case variants. */
        static Stream<String> protectedPathsAndTheirVariants() {
            return Stream.of("POST /api/chat", "POST /api/render", "POST /v1/chat/completions", "GET /v1/models",
                    "GET /actuator/info", "GET /actuator/prometheus", "GET /actuator/health/model",
                    "GET /actuator/metrics").flatMap(request -> {
                        String method = request.substring(0, request.indexOf(' '));
                        String path = request.substring(request.indexOf(' ') + 1);
                        int second = path.indexOf('/', 1);
                        String first = path.substring(1, second);
                        String rest = path.substring(second);
                        return Stream.of(path,
                                "/%" + Integer.toHexString(first.charAt(0)) + first.substring(1) + rest,
                                "/" + first.substring(0, first.length() - 1) + "%"
                                        + Integer.toHexString(first.charAt(first.length() - 1)).toUpperCase() + rest,
                                "/" + first + ";" + rest, "/" + first + ";x=1" + rest, "/" + first + rest + ";",
                                "/" + path, "/" + first + "/" + rest, "/./" + first + rest,
                                "/assets/../" + first + rest, "/assets/%2e%2e/" + first + rest,
                                "/actuator/health/../../" + first + rest, "/x/..;/" + first + rest,
                                "/" + first.toUpperCase() + rest, path.toUpperCase(),
                                "/" + Character.toUpperCase(first.charAt(0)) + first.substring(1) + rest)
                            .map(variant -> method + " " + variant);
                    });
        }

        @ParameterizedTest(name = "{0}")
        @MethodSource("protectedPathsAndTheirVariants")
        void everyPathOutsideThePublicOnesNeedsTheKeyHoweverItIsSpelled(String request) throws IOException {
            String[] parts = request.split(" ", 2);

            assertThat(rawStatus(port, parts[0], parts[1], null)).isEqualTo(401);
        }

        @Test
        void theRouterReadsAnEncodedPathAsThePathItself() throws IOException {
            assertThat(rawStatus(port, "POST", "/%61pi/render", null)).isEqualTo(401);
            assertThat(rawStatus(port, "POST", "/%61pi/render", "s3cret")).isEqualTo(200);
            assertThat(rawStatus(port, "POST", "/api;x/render", "s3cret")).isEqualTo(200);
        }

        @ParameterizedTest(name = "{0}")
        @CsvSource({ "/", "/assets/js/app.js", "/assets/css/app.css", "/webjars/dompurify/dist/purify.es.mjs",
                "/actuator/health/liveness" })
        void theChatPageItsAssetsAndTheProbesAreOpen(String path) throws IOException {
            assertThat(rawStatus(port, "GET", path, null)).isEqualTo(200);
        }

        @Test
        void readinessAndTheHealthStatusAreOpen() throws IOException {
            assertThat(rawStatus(port, "GET", "/actuator/health/readiness", null)).isIn(200, 503);
            assertThat(rawStatus(port, "GET", "/actuator/health", null)).isIn(200, 503);
        }

        @ParameterizedTest(name = "{0}")
        @CsvSource({ "/../api/chat", "/%zz/chat", "/api/chat%" })
        void aPathThatCannotBeReadIs400(String path) throws IOException {
            assertThat(rawStatus(port, "POST", path, null)).isEqualTo(400);
            assertThat(rawStatus(port, "POST", path, "s3cret")).isEqualTo(400);
        }

        @Test
        void withoutTheKeyTheHealthIsItsStatusOnlyAndInfoAndMetricsAreClosed() {
            String health = client(port).get().uri("/actuator/health").exchange().returnResult(String.class)
                .getResponseBody().blockLast(Duration.ofSeconds(10));
            assertThat(JSON.readTree(health).propertyNames()).contains("status").doesNotContain("components", "details");
            assertThat(health).doesNotContain("diskSpace").doesNotContain("free");
            for (String path : List.of("/actuator/health/readiness", "/actuator/health/liveness")) {
                String probe = client(port).get().uri(path).exchange().returnResult(String.class).getResponseBody()
                    .blockLast(Duration.ofSeconds(10));
                assertThat(JSON.readTree(probe).propertyNames()).as(path).containsExactly("status");
            }
            client(port).get().uri("/actuator/info").exchange().expectStatus().isUnauthorized();
            client(port).get().uri("/actuator/prometheus").exchange().expectStatus().isUnauthorized();
        }

        @Test
        void withTheKeyTheHealthHasItsDetailsAndInfoAndMetricsAnswer() {
            client(port).get().uri("/actuator/health").header(HttpHeaders.AUTHORIZATION, "Bearer s3cret").exchange()
                .expectBody().jsonPath("$.components.model.status").exists()
                .jsonPath("$.components.diskSpace.details.free").exists();
            client(port).get().uri("/actuator/info").header(HttpHeaders.AUTHORIZATION, "Bearer s3cret").exchange()
                .expectStatus().isOk().expectBody().jsonPath("$.model.id").isEqualTo("kotodama-demo");
            client(port).get().uri("/actuator/prometheus").header(HttpHeaders.AUTHORIZATION, "Bearer s3cret").exchange()
                .expectStatus().isOk();
        }

        @Test
        void theChatPageIsOpenAndAsksForTheKeyInItsSettings() {
            client(port).get().uri("/").exchange().expectStatus().isOk()
                .expectBody(String.class).value(html -> assertThat(html)
                    .contains("data-api-key-required=\"true\"").contains("id=\"api-key\""));
        }
    }

    /**
     * The demo model answering "<|channel|>final<|message|>" and then one token forever, each token after
     * {@link #pause} ms, and, from the token {@link #stallAt} on, after {@link #stall} ms once.
     */
    @TestConfiguration
    static class PacedAnswers {

        static final AtomicLong pause = new AtomicLong();

        static final AtomicLong stall = new AtomicLong();

        static final int stallAt = 6;

        @Bean(destroyMethod = "close")
        Engine kotodamaEngine(ServedModel model, KotodamaProperties properties) {
            return PacedEngines.endless(model, properties, step -> step == stallAt ? stall.get() : pause.get());
        }
    }

    @Nested
    @SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, classes = {
            dev.kotodama.KotodamaApplication.class, PacedAnswers.class }, properties = {
                    "kotodama.web.max-concurrent-per-client=1", "kotodama.max-generation-time=2s",
                    "kotodama.web.stream-idle-timeout=1s" })
    class WithLimits {

        @LocalServerPort
        int port;

        @Autowired
        Engine engine;

        @AfterEach
        void unpace() throws InterruptedException {
            PacedAnswers.pause.set(0);
            PacedAnswers.stall.set(0);
            awaitIdle(engine, Duration.ofSeconds(5));
            Thread.sleep(200); // the stream's end reaches the per-client count just after the engine's
        }

        private List<ServerSentEvent<String>> chat(String body) {
            return WebClient.create("http://localhost:" + port).post().uri("/api/chat")
                .contentType(MediaType.APPLICATION_JSON).bodyValue(body).retrieve()
                .bodyToFlux(new ParameterizedTypeReference<ServerSentEvent<String>>() { })
                .collectList().block(Duration.ofSeconds(30));
        }

        @Test
        void aGenerationEndsWithFinishReasonLengthAtItsTimeLimit() {
            PacedAnswers.pause.set(20); // 800 tokens would take 16 s

            long started = System.nanoTime();
            List<ServerSentEvent<String>> events = chat(LONG_CHAT);
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);

            assertThat(events.get(events.size() - 1).data()).isEqualTo("{\"finishReason\":\"length\"}");
            assertThat(JSON.readTree(events.get(events.size() - 2).data()).path("completionTokens").asInt())
                .isBetween(20, 400);
            assertThat(seconds).isLessThan(8);
        }

        @Test
        void aClientPastItsConcurrentGenerationsGets429() {
            PacedAnswers.pause.set(20);
            Disposable running = startLongChat(port, engine);
            try {
                client(port).post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                    .bodyValue("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":4}").exchange()
                    .expectStatus().isEqualTo(429)
                    .expectHeader().valueEquals(HttpHeaders.RETRY_AFTER, "1")
                    .expectBody().jsonPath("$.error.code").isEqualTo("too_many_concurrent_generations")
                    .jsonPath("$.error.message").value(String.class, message -> assertThat(message)
                        .contains("kotodama.web.max-concurrent-per-client"));
            }
            finally {
                running.dispose();
            }
        }

        @Test
        void aStreamThatStallsPastTheIdleTimeoutEndsWithAnErrorEvent() {
            PacedAnswers.stall.set(4000);

            List<ServerSentEvent<String>> events = chat(LONG_CHAT);

            ServerSentEvent<String> last = events.get(events.size() - 1);
            assertThat(last.event()).isEqualTo("error");
            assertThat(JSON.readTree(last.data()).path("code").asString()).isEqualTo("stream_idle");
            assertThat(JSON.readTree(last.data()).path("message").asString()).contains("kotodama.web.stream-idle-timeout");
        }
    }

    /** Records the threads that render prompts: the chat model resolves the tool definitions while it renders. */
    @TestConfiguration
    static class RenderingThreads {

        static final List<String> threads = new CopyOnWriteArrayList<>();

        @Bean
        ToolCallingManager toolCallingManager() {
            ToolCallingManager manager = ToolCallingManager.builder().build();
            return new ToolCallingManager() {
                @Override
                public List<ToolDefinition> resolveToolDefinitions(ToolCallingChatOptions options) {
                    threads.add(Thread.currentThread().getName());
                    return manager.resolveToolDefinitions(options);
                }

                @Override
                public ToolExecutionResult executeToolCalls(Prompt prompt, ChatResponse response) {
                    return manager.executeToolCalls(prompt, response);
                }
            };
        }
    }

    @Nested
    @SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, classes = {
            dev.kotodama.KotodamaApplication.class, RenderingThreads.class })
    class WhileRendering {

        @LocalServerPort
        int port;

        @Test
        void promptsAreRenderedAndTokenizedOffTheWebServersEventLoop() {
            RenderingThreads.threads.clear();
            String messages = "\"messages\":[{\"role\":\"user\",\"content\":\"What is 23 + 45?\"}]";
            String chat = "{" + messages + ",\"options\":{\"maxTokens\":2}}";
            String completion = "{" + messages + ",\"max_tokens\":2}";
            client(port).post().uri("/api/chat").contentType(MediaType.APPLICATION_JSON).bodyValue(chat).exchange()
                .expectStatus().isOk().returnResult(String.class).getResponseBody().blockLast(Duration.ofMinutes(1));
            client(port).post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON).bodyValue(completion)
                .exchange().expectStatus().isOk();
            client(port).post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"stream\":true," + completion.substring(1))
                .exchange().expectStatus().isOk().returnResult(String.class).getResponseBody().blockLast(Duration.ofMinutes(1));

            assertThat(RenderingThreads.threads).as("the threads that rendered the prompts").hasSizeGreaterThanOrEqualTo(3)
                .noneMatch(thread -> thread.contains("-http-")); // Reactor Netty's event loops: webflux-http-epoll-2
        }

        @Test
        void aConversationWhoseCharactersCannotFitTheContextIsRefusedBeforeTokenizing() {
            RenderingThreads.threads.clear();
            String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "あ".repeat(200_000) + "\"}]}";

            client(port).post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON).bodyValue(body)
                .exchange().expectStatus().isBadRequest()
                .expectBody().jsonPath("$.error.code").isEqualTo("context_length_exceeded")
                .jsonPath("$.error.message").value(String.class, message -> assertThat(message)
                    .startsWith("the conversation's 200000 characters cannot fit the model's context of"));
            assertThat(RenderingThreads.threads).as("prompts rendered").isEmpty();
        }
    }

    @Nested
    @SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = "kotodama.demo-model=false")
    class WithoutAModel {

        @LocalServerPort
        int port;

        @Test
        void theApisAnswer503() {
            client(port).post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").exchange()
                .expectStatus().isEqualTo(503)
                .expectBody().jsonPath("$.error.code").isEqualTo("model_not_loaded");
        }

        @Test
        void theChatPageSaysThatNoModelIsServedAndHowToServeOne() {
            client(port).get().uri("/").exchange().expectStatus().isOk()
                .expectBody(String.class).value(html -> assertThat(html)
                    .contains("No model is served: set <code>kotodama.model-dir</code>")
                    .doesNotContain("id=\"demo-badge\"").doesNotContain("data-model-id="));
        }
    }
}
