package dev.kotodama.web;

import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

import org.jspecify.annotations.Nullable;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import org.springframework.web.server.MethodNotAllowedException;
import org.springframework.web.server.NotAcceptableStatusException;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebExceptionHandler;
import reactor.core.publisher.Mono;

/**
 * The APIs' refusals that come before any controller, as OpenAI's error body (as every other refusal):
 * a path under {@code /v1/} or {@code /api/} that no endpoint has (404 {@code unknown_endpoint}), a
 * method the endpoint does not take (405 {@code method_not_allowed}, with the {@code Allow} header that
 * RFC 9110 asks for), and an {@code Accept} that the endpoint cannot answer (406 {@code not_acceptable}).
 * Other paths keep Spring Boot's error pages; this runs just before Spring Boot's handler (order -1).
 */
@Component
@Order(-2)
class RoutingErrors implements WebExceptionHandler {

    private static final List<String> API_FOLDERS = List.of("/v1/", "/api/");

    @Override
    public Mono<Void> handle(ServerWebExchange exchange, Throwable failure) {
        if (!(failure instanceof ResponseStatusException refusal) || !refusal.getStatusCode().is4xxClientError()
                || exchange.getResponse().isCommitted() || !isApi(exchange)) {
            return Mono.error(failure);
        }
        String request = exchange.getRequest().getMethod().name() + " " + shortened(exchange.getRequest().getPath().value());
        ApiException error = refusal(request, refusal);
        if (error == null) {
            return Mono.error(failure);
        }
        if (failure instanceof MethodNotAllowedException ex) {
            exchange.getResponse().getHeaders().setAllow(ex.getSupportedMethods());
        }
        return ApiErrors.write(exchange, error);
    }

    /**
     * A framework's 4xx refusal of {@code request} ("POST /v1/x", or a description of it) as the APIs'
     * error; null for a status that has no name.
     */
    static @Nullable ApiException refusal(String request, ResponseStatusException refusal) {
        HttpStatus status = HttpStatus.resolve(refusal.getStatusCode().value());
        if (status == null) {
            return null;
        }
        if (refusal instanceof MethodNotAllowedException ex) {
            return new ApiException(status, "invalid_request_error", "method_not_allowed", null,
                    request + " is not allowed: this endpoint takes " + methods(ex.getSupportedMethods()));
        }
        if (refusal instanceof NotAcceptableStatusException ex) {
            return new ApiException(status, "invalid_request_error", "not_acceptable", null, request
                    + " cannot answer in a type that the Accept header allows; it answers "
                    + ex.getSupportedMediaTypes().stream().map(Object::toString).collect(Collectors.joining(", ")));
        }
        if (status == HttpStatus.NOT_FOUND) {
            return new ApiException(status, "invalid_request_error", "unknown_endpoint", null, "there is no endpoint "
                    + request + " (the API's description: GET " + ApiDescriptionController.PATH + ")");
        }
        return new ApiException(status, "invalid_request_error", status.name().toLowerCase(Locale.ROOT), null,
                request + " was refused: " + status.getReasonPhrase());
    }

    private static boolean isApi(ServerWebExchange exchange) {
        String path = exchange.getRequest().getPath().pathWithinApplication().value();
        return API_FOLDERS.stream().anyMatch(path::startsWith);
    }

    private static String methods(Set<HttpMethod> methods) {
        return methods.stream().map(HttpMethod::name).sorted().collect(Collectors.joining(", "));
    }

    private static String shortened(String path) {
        return path.length() > 200 ? path.substring(0, 200) + "…" : path;
    }
}
