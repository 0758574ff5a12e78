package dev.kotodama.web;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

import dev.kotodama.ai.KotodamaChatModel;
import dev.kotodama.ai.KotodamaChatOptions;
import dev.kotodama.ai.ServedModel;
import dev.kotodama.io.Sha256;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;

/**
 * The chat page at {@code /}: a Thymeleaf template with the served model's name, whether it is the demo
 * model, the server's default options (the settings' placeholders) and whether the APIs need a key. Its
 * scripts and styles are the static resources built from {@code frontend/src}.
 *
 * <p>It is served with a Content-Security-Policy that allows this origin's scripts, styles and images
 * (and {@code data:} images) and nothing else: its one inline script, the import map, is allowed by its
 * hash, and no other page may frame it.
 */
@Controller
class PageController {

    /** The page's import map: the bare names its modules import, resolved to the WebJars. */
    static final String IMPORT_MAP = "{\"imports\": {\"marked\": \"/webjars/marked/lib/marked.esm.js\", "
            + "\"dompurify\": \"/webjars/dompurify/dist/purify.es.mjs\"}}";

    static final String CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self' 'sha256-"
            + Base64.getEncoder().encodeToString(Sha256.of(IMPORT_MAP.getBytes(StandardCharsets.UTF_8)))
            + "'; img-src 'self' data:; frame-ancestors 'none'";

    private final ObjectProvider<KotodamaChatModel> chatModel;

    private final ObjectProvider<ServedModel> servedModel;

    private final KotodamaWebProperties properties;

    PageController(ObjectProvider<KotodamaChatModel> chatModel, ObjectProvider<ServedModel> servedModel,
            KotodamaWebProperties properties) {
        this.chatModel = chatModel;
        this.servedModel = servedModel;
        this.properties = properties;
    }

    @GetMapping("/")
    String chat(Model page, ServerHttpResponse response) {
        response.getHeaders().set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
        response.getHeaders().set("X-Content-Type-Options", "nosniff");
        page.addAttribute("importMap", IMPORT_MAP);
        KotodamaChatModel model = chatModel.getIfAvailable();
        ServedModel served = servedModel.getIfAvailable();
        page.addAttribute("modelId", model == null ? null : model.modelId());
        page.addAttribute("demo", served != null && served.demo());
        page.addAttribute("apiKeyRequired", properties.requiresApiKey());
        KotodamaChatOptions defaults = model == null ? KotodamaChatOptions.builder().build() : model.getOptions();
        page.addAttribute("defaultTemperature", defaults.getTemperature());
        page.addAttribute("defaultTopP", defaults.getTopP());
        page.addAttribute("defaultMaxTokens", defaults.getMaxTokens());
        page.addAttribute("defaultEffort", defaults.getReasoningEffort() == null ? "medium"
                : defaults.getReasoningEffort().word());
        return "kotodama/chat";
    }
}
