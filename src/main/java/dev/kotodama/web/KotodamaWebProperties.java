package dev.kotodama.web;

import java.time.Duration;

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
 * @param maxStopSequences the most stop sequences a request may give (OpenAI's 4)
 * @param maxStopSequenceLength the most characters of one stop sequence (OpenAI's 64)
 * @param maxConcurrentPerClient generations one client may run or queue at once (a client: the API key
 *     when one is set, else the remote address); one more is a 429
 * @param streamIdleTimeout a generation that sends its client nothing for this long (stalled, or a client
 *     that stopped reading) is ended
 * @param acceptAnyModel whether {@code /v1/chat/completions} answers a request for any model name with the
 *     served model; false (the default), a name other than the served model's id is a 404
 */
@ConfigurationProperties("kotodama.web")
public record KotodamaWebProperties(@Nullable String apiKey, @DefaultValue("1MB") DataSize maxRequestSize,
        @DefaultValue("4") int maxStopSequences, @DefaultValue("64") int maxStopSequenceLength,
        @DefaultValue("4") int maxConcurrentPerClient, @DefaultValue("5m") Duration streamIdleTimeout,
        @DefaultValue("false") boolean acceptAnyModel) {

    /** Refuses values that cannot work, naming the property, so that startup stops with one line on it. */
    public KotodamaWebProperties {
        if (maxStopSequences < 1 || maxStopSequenceLength < 1) {
            throw new IllegalArgumentException("kotodama.web.max-stop-sequences and "
                    + "kotodama.web.max-stop-sequence-length must be at least 1, got " + maxStopSequences + " and "
                    + maxStopSequenceLength);
        }
        if (maxConcurrentPerClient < 1) {
            throw new IllegalArgumentException("kotodama.web.max-concurrent-per-client must be at least 1, got "
                    + maxConcurrentPerClient);
        }
        if (streamIdleTimeout.isNegative() || streamIdleTimeout.isZero()) {
            throw new IllegalArgumentException("kotodama.web.stream-idle-timeout must be positive (e.g. 5m), got "
                    + streamIdleTimeout);
        }
    }

    /** Whether a key is set ({@code kotodama.web.api-key} neither absent nor empty): then requests need it. */
    public boolean requiresApiKey() {
        return apiKey != null && !apiKey.isEmpty();
    }
}
