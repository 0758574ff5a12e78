package dev.kotodama.web;

import dev.kotodama.ai.KotodamaChatModel;
import dev.kotodama.ai.KotodamaChatOptions;
import dev.kotodama.ai.ServedModel;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;

/**
 * The chat page at {@code /}: a Thymeleaf template with the served model's name, whether it is the demo
 * model, the server's default options (the settings' placeholders) and whether the APIs need a key. Its
 * scripts and styles are the static resources built from {@code frontend/src}.
 */
@Controller
class PageController {

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
    String chat(Model page) {
        KotodamaChatModel model = chatModel.getIfAvailable();
        ServedModel served = servedModel.getIfAvailable();
        page.addAttribute("modelId", model == null ? null : model.modelId());
        page.addAttribute("demo", served != null && served.demo());
        page.addAttribute("apiKeyRequired", properties.apiKey() != null && !properties.apiKey().isEmpty());
        KotodamaChatOptions defaults = model == null ? KotodamaChatOptions.builder().build() : model.getOptions();
        page.addAttribute("defaultTemperature", defaults.getTemperature());
        page.addAttribute("defaultTopP", defaults.getTopP());
        page.addAttribute("defaultMaxTokens", defaults.getMaxTokens());
        page.addAttribute("defaultEffort", defaults.getReasoningEffort() == null ? "medium"
                : defaults.getReasoningEffort().word());
        return "kotodama/chat";
    }
}
