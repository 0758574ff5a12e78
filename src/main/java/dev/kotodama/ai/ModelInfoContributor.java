package dev.kotodama.ai;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import dev.kotodama.engine.Engine;
import dev.kotodama.engine.ModelManifest;
import dev.kotodama.engine.ProviderChoice;
import org.springframework.boot.actuate.info.Info;
import org.springframework.boot.actuate.info.InfoContributor;

/** {@code model} in {@code /actuator/info}: the served model, the provider actually in use and the precision. */
public class ModelInfoContributor implements InfoContributor {

    private final KotodamaChatModel chatModel;

    private final Engine engine;

    private final ServedModel served;

    public ModelInfoContributor(KotodamaChatModel chatModel, Engine engine, ServedModel served) {
        this.chatModel = chatModel;
        this.engine = engine;
        this.served = served;
    }

    @Override
    public void contribute(Info.Builder builder) {
        ModelManifest manifest = engine.decoder().directory().manifest();
        ProviderChoice provider = engine.decoder().provider();
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("id", chatModel.modelId());
        model.put("demo", served.demo());
        model.put("directory", served.directory().toString());
        model.put("provider", provider.used().name().toLowerCase(Locale.ROOT));
        if (provider.fallbackReason() != null) {
            model.put("providerFallback", provider.fallbackReason());
        }
        model.put("target", manifest.target());
        model.put("precision", manifest.precision());
        model.put("contextLength", manifest.contextLength());
        model.put("chatFormat", manifest.chatFormat());
        builder.withDetail("model", model);
    }
}
