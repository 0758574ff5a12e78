package dev.kotodama.web;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Set;

import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.ReactiveSecurityContextHolder;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * With {@code kotodama.web.api-key} set, every request needs {@code Authorization: Bearer <key>} (401
 * otherwise) except the public ones: the chat page {@code /}, its assets ({@code /assets/**},
 * {@code /webjars/**}), {@code /favicon.ico}, the probes {@code /actuator/health/liveness} and
 * {@code /actuator/health/readiness}, and {@code /actuator/health} (its status only: details need the
 * key). The decision is made on the path as the router sees it ({@link RoutedPath}); a path that
 * cannot be read is a 400 and a path the router would see otherwise than normalized is never public.
 *
 * <p>A request with the key, and every request when no key is set, is authorized: its Reactor context
 * holds an authentication (Spring Security's, without its filters), which is what Actuator's
 * {@code show-details: when-authorized} looks for (the health's details, such as the disk's path and
 * free bytes, are for authorized clients only).
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 10)
class ApiKeyFilter implements WebFilter {

    private static final Set<String> PUBLIC_PATHS = Set.of("/", "/favicon.ico", "/actuator/health",
            "/actuator/health/liveness", "/actuator/health/readiness");

    private static final List<String> PUBLIC_FOLDERS = List.of("/assets/", "/webjars/");

    private static final Authentication AUTHORIZED = UsernamePasswordAuthenticationToken.authenticated(
            "kotodama-api-client", null, List.of());

    private final byte[] expected;

    ApiKeyFilter(KotodamaWebProperties properties) {
        this.expected = properties.requiresApiKey() ? ("Bearer " + properties.apiKey()).getBytes(StandardCharsets.UTF_8)
                : new byte[0];
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        RoutedPath path;
        try {
            path = RoutedPath.of(exchange.getRequest().getPath());
        }
        catch (ApiException ex) {
            return ApiErrors.write(exchange, ex);
        }
        String given = exchange.getRequest().getHeaders().getFirst(HttpHeaders.AUTHORIZATION);
        if (expected.length == 0
                || (given != null && MessageDigest.isEqual(expected, given.getBytes(StandardCharsets.UTF_8)))) {
            return chain.filter(exchange).contextWrite(ReactiveSecurityContextHolder.withAuthentication(AUTHORIZED));
        }
        if (isPublic(path)) {
            return chain.filter(exchange);
        }
        exchange.getResponse().getHeaders().set(HttpHeaders.WWW_AUTHENTICATE, "Bearer");
        return ApiErrors.write(exchange, new ApiException(HttpStatus.UNAUTHORIZED, "invalid_request_error",
                "invalid_api_key", null, given == null ? "this server needs an API key: send Authorization: Bearer <key>"
                        : "the API key is wrong: send Authorization: Bearer <key> with the key of kotodama.web.api-key"));
    }

    private static boolean isPublic(RoutedPath path) {
        return path.canonical() && (PUBLIC_PATHS.contains(path.value())
                || PUBLIC_FOLDERS.stream().anyMatch(folder -> path.value().startsWith(folder)));
    }
}
