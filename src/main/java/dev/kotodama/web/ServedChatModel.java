package dev.kotodama.web;

import dev.kotodama.ai.KotodamaChatModel;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;

/** The chat model the APIs answer with, or a 503 when the application serves none. */
@Component
class ServedChatModel {

    private final ObjectProvider<KotodamaChatModel> chatModel;

    ServedChatModel(ObjectProvider<KotodamaChatModel> chatModel) {
        this.chatModel = chatModel;
    }

    KotodamaChatModel require() {
        KotodamaChatModel model = chatModel.getIfAvailable();
        if (model == null) {
            throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "service_unavailable", "model_not_loaded", null,
                    "no model is served: set kotodama.model-dir to an exported model directory (or leave "
                            + "kotodama.demo-model on) and restart");
        }
        return model;
    }
}
