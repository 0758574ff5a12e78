package dev.kotodama.web;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import dev.kotodama.ai.KotodamaChatModel;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.web.server.MockServerWebExchange;
import org.springframework.util.unit.DataSize;
import reactor.core.publisher.Flux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

/** The per-client limit as a client at its limit meets it. */
class GenerationsTests {

    @Test
    void aClientAtItsLimitMaySendItsNextRequestTheMomentTheLastOneEnds() {
        Generations generations = new Generations(
                new KotodamaWebProperties(null, DataSize.ofMegabytes(1), 4, 64, 1, Duration.ofMinutes(5), false));
        KotodamaChatModel model = mock(KotodamaChatModel.class);
        when(model.stream(any(Prompt.class))).thenAnswer(call -> Flux.just(new ChatResponse(List.of())));
        MockServerWebExchange exchange = MockServerWebExchange.from(MockServerHttpRequest.post("/v1/chat/completions")
            .remoteAddress(new InetSocketAddress("127.0.0.5", 40000)));
        Prompt prompt = new Prompt("Hello!");
        AtomicReference<Throwable> refused = new AtomicReference<>();

        generations.stream(model, prompt, exchange)
            .doOnComplete(() -> generations.stream(model, prompt, exchange).subscribe(response -> { }, refused::set))
            .blockLast(Duration.ofSeconds(10));

        assertThat(refused.get()).as("the next request of a client whose last one has ended").isNull();
    }
}
