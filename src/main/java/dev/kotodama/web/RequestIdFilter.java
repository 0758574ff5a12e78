package dev.kotodama.web;

import java.util.UUID;
import java.util.regex.Pattern;

import io.micrometer.context.ContextRegistry;
import org.slf4j.MDC;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Mono;

/**
 * Every request's id: its {@code X-Request-Id} when that is well-formed (1 to 64 of {@code A-Z a-z 0-9 . _
 * : -}), else a new one. It goes back in the response's {@code X-Request-Id}, into error bodies, and into
 * the request's Reactor context, which Reactor's automatic context propagation
 * ({@code spring.reactor.context-propagation: auto}) copies into the logging MDC ({@value #MDC_KEY}) of
 * every thread that works on the request, so every log line of it names it.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE)
class RequestIdFilter implements WebFilter {

    static final String HEADER = "X-Request-Id";

    /** The MDC key and the Reactor context key. */
    static final String MDC_KEY = "requestId";

    private static final String ATTRIBUTE = RequestIdFilter.class.getName() + ".id";

    private static final Pattern WELL_FORMED = Pattern.compile("[A-Za-z0-9._:-]{1,64}");

    static {
        ContextRegistry.getInstance().registerThreadLocalAccessor(MDC_KEY, () -> MDC.get(MDC_KEY),
                id -> MDC.put(MDC_KEY, id), () -> MDC.remove(MDC_KEY));
    }

    /** The id of the exchange's request. */
    static String of(ServerWebExchange exchange) {
        return exchange.getAttributeOrDefault(ATTRIBUTE, "none");
    }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        String given = exchange.getRequest().getHeaders().getFirst(HEADER);
        String id = given != null && WELL_FORMED.matcher(given).matches() ? given
                : UUID.randomUUID().toString().replace("-", "");
        exchange.getAttributes().put(ATTRIBUTE, id);
        exchange.getResponse().getHeaders().set(HEADER, id);
        return chain.filter(exchange).contextWrite(context -> context.put(MDC_KEY, id));
    }
}
