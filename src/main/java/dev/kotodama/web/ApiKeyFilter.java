package dev.kotodama.web;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/** With {@code kotodama.web.api-key} set, refuses API requests without {@code Authorization: Bearer <key>} (401). */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 10)
class ApiKeyFilter implements WebFilter {

    private final byte[] expected;

    ApiKeyFilter(KotodamaWebProperties properties) {
        String key = properties.apiKey();
        this.expected = key == null || key.isEmpty() ? new byte[0]
                : ("Bearer " + key).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        String path = exchange.getRequest().getPath().pathWithinApplication().value();
        if (expected.length == 0 || !(path.startsWith("/api/") || path.startsWith("/v1/"))) {
            return chain.filter(exchange);
        }
        String given = exchange.getRequest().getHeaders().getFirst(HttpHeaders.AUTHORIZATION);
        if (given != null && MessageDigest.isEqual(expected, given.getBytes(StandardCharsets.UTF_8))) {
            return chain.filter(exchange);
        }
        exchange.getResponse().getHeaders().set(HttpHeaders.WWW_AUTHENTICATE, "Bearer");
        return ApiErrors.write(exchange, new ApiException(HttpStatus.UNAUTHORIZED, "invalid_request_error",
                "invalid_api_key", null, given == null ? "this server needs an API key: send Authorization: Bearer <key>"
                        : "the API key is wrong: send Authorization: Bearer <key> with the key of kotodama.web.api-key"));
    }
}
