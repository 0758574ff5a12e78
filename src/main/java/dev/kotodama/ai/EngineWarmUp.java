package dev.kotodama.ai;

import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;

import dev.kotodama.engine.Engine;
import dev.kotodama.engine.GenerationRequest;
import dev.kotodama.engine.sampling.SamplingParameters;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.ApplicationListener;

/**
 * One short generation once the application has started, off the startup thread: ONNX Runtime's first
 * runs allocate and tune, and a user should not pay for that. Until it has run, the model is not ready
 * ({@code /actuator/health/readiness} says OUT_OF_SERVICE).
 */
public class EngineWarmUp implements ApplicationListener<ApplicationReadyEvent> {

    private static final Logger logger = LoggerFactory.getLogger(EngineWarmUp.class);

    /** Prompt tokens of the warm-up: a prefill of some length, then decode steps. */
    private static final int PROMPT_TOKENS = 16;

    private static final int DECODE_TOKENS = 4;

    /** Where the warm-up is. */
    public enum State { PENDING, DONE, FAILED }

    private final Engine engine;

    private volatile State state = State.PENDING;

    private volatile @Nullable String failure;

    private volatile long millis;

    public EngineWarmUp(Engine engine) {
        this.engine = Objects.requireNonNull(engine, "engine must not be null");
    }

    @Override
    public void onApplicationEvent(ApplicationReadyEvent event) {
        Thread thread = new Thread(this::run, "kotodama-warm-up");
        thread.setDaemon(true);
        thread.start();
    }

    void run() {
        long started = System.nanoTime();
        int[] prompt = new int[PROMPT_TOKENS]; // any valid ids do: the point is to run the graphs
        Arrays.fill(prompt, engine.decoder().directory().manifest().stopTokenIds().get(0));
        try {
            engine.generate(new GenerationRequest(prompt, SamplingParameters.greedy(), DECODE_TOKENS))
                .blockLast(Duration.ofMinutes(10));
            millis = (System.nanoTime() - started) / 1_000_000;
            state = State.DONE;
            logger.info("warm-up generation done in {} ms: ready", millis);
        }
        catch (RuntimeException ex) {
            failure = String.valueOf(ex.getMessage());
            state = State.FAILED;
            logger.error("the warm-up generation failed: {}", failure, ex);
        }
    }

    public State state() {
        return state;
    }

    /** Why the warm-up failed; null unless it did. */
    public @Nullable String failure() {
        return failure;
    }

    /** How long the warm-up took; 0 until it is done. */
    public long millis() {
        return millis;
    }
}
