package dev.kotodama.web;

import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * {@code kotodama.web.*}: the HTTP APIs.
 *
 * @param apiKey when set, every request except the chat page, its assets and the health probes must send
 *     {@code Authorization: Bearer <apiKey>} ({@link ApiKeyFilter}); unset (the default), all is open
 * @param maxRequestSize the largest request body accepted; larger ones get a 413
 */
@ConfigurationProperties("kotodama.web")
public record KotodamaWebProperties(@Nullable String apiKey, @DefaultValue("1MB") DataSize maxRequestSize) {
}
