package dev.kotodama.web;

import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.kotodama.ai.KotodamaChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Flux;

/**
 * The chat model's streams as the APIs run them: at most {@code kotodama.web.max-concurrent-per-client}
 * at once per client (the API key when one is set, else the remote address; one more is a 429), and
 * ended when nothing has gone to the client for {@code kotodama.web.stream-idle-timeout}.
 */
@Component
class Generations {

    private final KotodamaWebProperties properties;

    private final ConcurrentMap<String, Integer> running = new ConcurrentHashMap<>();

    Generations(KotodamaWebProperties properties) {
        this.properties = properties;
    }

    Flux<ChatResponse> stream(KotodamaChatModel model, Prompt prompt, ServerWebExchange exchange) {
        String client = client(exchange);
        return Flux.defer(() -> {
            acquire(client);
            AtomicBoolean released = new AtomicBoolean();
            Runnable releaseOnce = () -> {
                if (released.compareAndSet(false, true)) {
                    release(client);
                }
            };
            return model.stream(prompt).timeout(properties.streamIdleTimeout()).onErrorMap(TimeoutException.class,
                    ex -> new ApiException(HttpStatus.GATEWAY_TIMEOUT, "timeout", "stream_idle", null,
                            "the generation sent nothing for " + properties.streamIdleTimeout().toMillis()
                                    + " ms (kotodama.web.stream-idle-timeout) and was ended"))
                // released before the client sees the end, so that its next request finds the slot free;
                // a client that hangs up releases it on the cancel
                .doOnTerminate(releaseOnce)
                .doFinally(signal -> releaseOnce.run());
        });
    }

    private String client(ServerWebExchange exchange) {
        if (properties.requiresApiKey()) {
            return "key " + exchange.getRequest().getHeaders().getFirst(HttpHeaders.AUTHORIZATION);
        }
        InetSocketAddress remote = exchange.getRequest().getRemoteAddress();
        return "address " + (remote == null ? "unknown" : remote.getAddress() != null
                ? remote.getAddress().getHostAddress() : remote.getHostString());
    }

    private void acquire(String client) {
        int max = properties.maxConcurrentPerClient();
        if (running.merge(client, 1, Integer::sum) > max) {
            release(client);
            throw new ApiException(HttpStatus.TOO_MANY_REQUESTS, "rate_limit_error", "too_many_concurrent_generations",
                    null, "this client already runs " + max + " generations (kotodama.web.max-concurrent-per-client); "
                            + "wait for one to end");
        }
    }

    private void release(String client) {
        running.computeIfPresent(client, (key, count) -> count == 1 ? null : count - 1);
    }
}
