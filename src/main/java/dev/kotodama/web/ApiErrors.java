package dev.kotodama.web;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.kotodama.ai.KotodamaChatException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.codec.DecodingException;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.server.ServerWebInputException;
import org.springframework.web.server.UnsupportedMediaTypeStatusException;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

/**
 * Every refusal of the APIs as OpenAI's error body {@code {"error": {"message", "type", "param",
 * "code", "request_id"}}} with its status. Only this server's own messages reach the client: any other
 * failure (a library's exception, whose message may name server paths, ONNX Runtime's error lines) is
 * logged with its stack under the request's id, and the client gets a 500 with a generic message and
 * that id, never a stack trace.
 */
@RestControllerAdvice(basePackageClasses = ApiErrors.class)
class ApiErrors {

    private static final Logger logger = LoggerFactory.getLogger(ApiErrors.class);

    static Map<String, Object> body(ApiException ex, String requestId) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("message", ex.getMessage());
        error.put("type", ex.type());
        error.put("param", ex.param());
        error.put("code", ex.code());
        error.put("request_id", requestId);
        return Map.of("error", error);
    }

    /** Writes the error directly, for a filter that answers before any controller. */
    static Mono<Void> write(ServerWebExchange exchange, ApiException ex) {
        exchange.getResponse().setStatusCode(ex.status());
        exchange.getResponse().getHeaders().setContentType(MediaType.APPLICATION_JSON);
        byte[] bytes = JsonMapper.shared().writeValueAsString(body(ex, RequestIdFilter.of(exchange)))
            .getBytes(StandardCharsets.UTF_8);
        return exchange.getResponse().writeWith(Mono.just(exchange.getResponse().bufferFactory().wrap(bytes)));
    }

    /**
     * What a failure means to the client: its status, type, code and message; a failure that is not one
     * of this server's refusals is logged here with its stack under {@code requestId}.
     */
    static ApiException of(Throwable failure, String requestId) {
        if (failure instanceof ApiException api) {
            return api;
        }
        if (causedBy(failure, DataBufferLimitException.class)) {
            return tooLarge();
        }
        if (failure instanceof ServerWebInputException || causedBy(failure, DecodingException.class)) {
            return malformed(failure);
        }
        if (failure instanceof UnsupportedMediaTypeStatusException) {
            return new ApiException(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "invalid_request_error",
                    "unsupported_media_type", null, "send the body as JSON with Content-Type: application/json");
        }
        if (failure instanceof KotodamaChatException ex) {
            return of(ex);
        }
        if (failure instanceof ResponseStatusException refusal && refusal.getStatusCode().is4xxClientError()) {
            ApiException api = RoutingErrors.refusal("the request", refusal); // a 406 on writing the answer, for one
            if (api != null) {
                return api;
            }
        }
        logger.error("request {} failed", requestId, failure);
        return new ApiException(HttpStatus.INTERNAL_SERVER_ERROR, "server_error", "internal_error", null,
                "the server failed to answer; its log has the details under request id " + requestId);
    }

    private static ApiException of(KotodamaChatException ex) {
        String message = String.valueOf(ex.getMessage());
        return switch (ex.reason()) {
            case CONTEXT_LENGTH_EXCEEDED -> new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error",
                    "context_length_exceeded", "messages", message);
            case INVALID_CONVERSATION -> ApiException.invalid("messages", message);
            case BUSY -> new ApiException(HttpStatus.TOO_MANY_REQUESTS, "rate_limit_error", "server_busy", null,
                    message + "; retry in a moment");
            case SHUTTING_DOWN -> new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "service_unavailable", "shutting_down",
                    null, message);
            case STOPPED -> new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "service_unavailable", "engine_stopped", null,
                    message);
            case GENERATION_FAILED -> new ApiException(HttpStatus.INTERNAL_SERVER_ERROR, "server_error",
                    "generation_failed", null, message);
        };
    }

    /** Every failure of a request, as its status (with {@code Retry-After} on a 429) and OpenAI's error body. */
    @ExceptionHandler(Exception.class)
    ResponseEntity<Map<String, Object>> handle(Exception ex, ServerWebExchange exchange) {
        String requestId = RequestIdFilter.of(exchange);
        ApiException api = of(ex, requestId);
        ResponseEntity.BodyBuilder response = ResponseEntity.status(api.status()).contentType(MediaType.APPLICATION_JSON);
        if (api.status() == HttpStatus.TOO_MANY_REQUESTS) {
            response.header(HttpHeaders.RETRY_AFTER, "1");
        }
        return response.body(body(api, requestId));
    }

    private static ApiException tooLarge() {
        return new ApiException(HttpStatus.CONTENT_TOO_LARGE, "invalid_request_error", "request_too_large", null,
                "the request body is larger than kotodama.web.max-request-size allows");
    }

    private static ApiException malformed(Throwable failure) {
        if (failure instanceof ServerWebInputException input && input.getCause() == null) { // no body to decode
            return new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", "invalid_json", null,
                    "the request body is missing or empty: send a JSON object");
        }
        Throwable cause = failure;
        while (cause.getCause() != null) {
            cause = cause.getCause();
        }
        String detail = String.valueOf(cause.getMessage());
        return new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", "invalid_json", null,
                "the request body is not valid JSON: " + detail.lines().findFirst().orElse(detail));
    }

    private static boolean causedBy(Throwable failure, Class<? extends Throwable> type) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }
}
