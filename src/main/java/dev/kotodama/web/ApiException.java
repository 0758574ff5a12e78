package dev.kotodama.web;

import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpStatus;

/**
 * A request that the API refuses, with what the client should fix; rendered as OpenAI's error body
 * {@code {"error": {"message", "type", "param", "code"}}}.
 */
public class ApiException extends RuntimeException {

    private final HttpStatus status;

    private final String type;

    private final @Nullable String param;

    private final String code;

    public ApiException(HttpStatus status, String type, String code, @Nullable String param, String message) {
        super(message);
        this.status = status;
        this.type = type;
        this.code = code;
        this.param = param;
    }

    /** A 400: the request is malformed or a value is out of range. */
    public static ApiException invalid(@Nullable String param, String message) {
        return new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", "invalid_value", param, message);
    }

    /** A 400: a parameter this server knows but cannot honour in the value given. */
    public static ApiException unsupported(String param, String message) {
        return new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", "unsupported_parameter", param, message);
    }

    /** A 400: a field that is no parameter of the API. */
    public static ApiException unknown(String param, String message) {
        return new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", "unknown_parameter", param, message);
    }

    /** A 404: a model that this server does not serve. */
    public static ApiException modelNotFound(String message) {
        return new ApiException(HttpStatus.NOT_FOUND, "invalid_request_error", "model_not_found", "model", message);
    }

    public HttpStatus status() {
        return status;
    }

    public String type() {
        return type;
    }

    public @Nullable String param() {
        return param;
    }

    public String code() {
        return code;
    }
}
