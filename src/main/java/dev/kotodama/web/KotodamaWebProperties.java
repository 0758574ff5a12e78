package dev.kotodama.web;

import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * {@code kotodama.web.*}: the HTTP APIs.
 *
 * @param apiKey when set, every request to {@code /api/**} and {@code /v1/**} must send
 *     {@code Authorization: Bearer <apiKey>}; unset (the default), the APIs are open
 * @param maxRequestSize the largest request body accepted; larger ones get a 413
 */
@ConfigurationProperties("kotodama.web")
public record KotodamaWebProperties(@Nullable String apiKey, @DefaultValue("1MB") DataSize maxRequestSize) {
}
