package dev.kotodama.web;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.web.bind.annotation.RequestMapping;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The hand-written OpenAPI description against the code it describes, so that neither can drift: every
 * endpoint the API controllers map is described (and nothing else), and the request schemas name exactly
 * the fields that {@link ChatRequests} reads. {@code ./test}'s contract suite fuzzes the running app against
 * the same file.
 */
class ApiDescriptionTests {

    private static final JsonMapper JSON = JsonMapper.shared();

    /** The controllers of the HTTP APIs (the chat page's own {@code /} is a page, not an API). */
    private static final List<Class<?>> API_CONTROLLERS = List.of(OpenAiController.class, ChatController.class,
            ApiDescriptionController.class);

    private static JsonNode description() throws IOException {
        try (InputStream in = ApiDescriptionTests.class.getClassLoader().getResourceAsStream(ApiDescriptionController.RESOURCE)) {
            assertThat(in).as(ApiDescriptionController.RESOURCE).isNotNull();
            return JSON.readTree(in);
        }
    }

    private static JsonNode schema(JsonNode description, String name) {
        JsonNode schema = description.path("components").path("schemas").path(name);
        assertThat(schema.isObject()).as("components.schemas." + name).isTrue();
        return schema;
    }

    private static Set<String> properties(JsonNode schema) {
        return new TreeSet<>(schema.path("properties").propertyNames());
    }

    @Test
    void describesEveryEndpointTheControllersMapAndNoOther() throws IOException {
        Set<String> mapped = new TreeSet<>();
        for (Class<?> controller : API_CONTROLLERS) {
            RequestMapping base = AnnotatedElementUtils.findMergedAnnotation(controller, RequestMapping.class);
            String prefix = base == null || base.path().length == 0 ? "" : base.path()[0];
            for (Method method : controller.getDeclaredMethods()) {
                RequestMapping mapping = AnnotatedElementUtils.findMergedAnnotation(method, RequestMapping.class);
                if (mapping == null) {
                    continue;
                }
                for (String path : mapping.path()) {
                    for (var verb : mapping.method()) {
                        mapped.add(verb.name().toLowerCase() + " " + prefix + path);
                    }
                }
            }
        }
        Set<String> described = new TreeSet<>();
        JsonNode paths = description().path("paths");
        for (String path : paths.propertyNames()) {
            for (String verb : paths.path(path).propertyNames()) {
                described.add(verb + " " + path);
            }
        }

        assertThat(mapped).contains("post /v1/chat/completions", "get /v1/models", "post /api/chat", "post /api/render",
                "get " + ApiDescriptionController.PATH);
        assertThat(described).isEqualTo(mapped);
    }

    @Test
    void theCompletionsRequestHasExactlyTheParametersTheValidationKnows() throws IOException {
        JsonNode request = schema(description(), "ChatCompletionRequest");

        assertThat(properties(request)).isEqualTo(new TreeSet<>(ChatRequests.OPENAI_PARAMETERS));
        assertThat(request.path("additionalProperties").asBoolean(true)).as("unknown keys are a 400").isFalse();
        assertThat(request.path("required").get(0).asString()).isEqualTo("messages");
    }

    @Test
    void theChatPageRequestHasExactlyTheFieldsAndOptionsTheValidationKnows() throws IOException {
        JsonNode description = description();
        JsonNode request = schema(description, "PageRequest");
        JsonNode options = schema(description, "PageOptions");

        assertThat(properties(request)).isEqualTo(new TreeSet<>(ChatRequests.PAGE_FIELDS));
        assertThat(properties(options)).isEqualTo(new TreeSet<>(ChatRequests.PAGE_OPTIONS));
        assertThat(request.path("additionalProperties").asBoolean(true)).isFalse();
        assertThat(options.path("additionalProperties").asBoolean(true)).isFalse();
    }

    @Test
    void messagesTakeExactlyTheRolesAndToolNamesTheValidationTakes() throws IOException {
        JsonNode description = description();
        for (String schema : List.of("Message", "PageMessage")) {
            Set<String> roles = new HashSet<>();
            for (JsonNode branch : schema(description, schema).path("oneOf")) {
                JsonNode role = branch.path("properties").path("role");
                if (role.has("const")) {
                    roles.add(role.path("const").asString());
                }
                role.path("enum").forEach(value -> roles.add(value.asString()));
            }
            assertThat(roles).as(schema).isEqualTo(ChatRequests.ROLES);
        }
        assertThat(schema(description, "ToolName").path("pattern").asString())
            .isEqualTo("^" + ChatRequests.TOOL_NAME.pattern() + "$");
    }

    @Test
    void isServedAsJson() throws IOException {
        byte[] served = WebTestClient.bindToController(new ApiDescriptionController()).build()
            .get().uri(ApiDescriptionController.PATH).accept(MediaType.TEXT_PLAIN).exchange()
            .expectStatus().isOk()
            .expectHeader().contentType(MediaType.APPLICATION_JSON)
            .expectBody().returnResult().getResponseBody();

        assertThat(JSON.readTree(served)).isEqualTo(description());
        assertThat(description().path("openapi").asString()).startsWith("3.1");
    }
}
