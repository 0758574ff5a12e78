package dev.kotodama.ai;

import java.time.Duration;
import java.util.Objects;

import dev.kotodama.engine.Engine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Graceful shutdown of the generations: before the web server's own graceful shutdown waits for open
 * requests, new generations are refused (503) and running ones get {@code kotodama.shutdown-grace} to
 * finish; those still running then end with finish reason {@code shutdown}, so that every stream
 * closes with a proper ending instead of being cut. Before that, for {@code kotodama.shutdown-delay},
 * new generations are still taken while readiness (which Spring Boot turns to refusing traffic when the
 * context starts closing) tells balancers that poll it to stop sending here.
 */
public class EngineDrain implements SmartLifecycle {

    /** Stops before the web server's graceful shutdown (which stops at DEFAULT_PHASE - 1024). */
    static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 512;

    private static final Logger logger = LoggerFactory.getLogger(EngineDrain.class);

    private final Engine engine;

    private final Duration delay;

    private final Duration grace;

    private volatile boolean running;

    public EngineDrain(Engine engine, Duration delay, Duration grace) {
        this.engine = Objects.requireNonNull(engine, "engine must not be null");
        this.delay = Objects.requireNonNull(delay, "delay must not be null");
        this.grace = Objects.requireNonNull(grace, "grace must not be null");
    }

    @Override
    public void start() {
        running = true;
    }

    @Override
    public void stop() {
        running = false;
        if (!delay.isZero()) {
            logger.info("shutting down: taking new generations for {} ms more while readiness refuses traffic",
                    delay.toMillis());
            try {
                Thread.sleep(delay.toMillis());
            }
            catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        }
        int active = engine.activeCount() + engine.queuedCount();
        if (active > 0) {
            logger.info("shutting down: {} generations may finish within {} s", active, grace.toSeconds());
        }
        int ended = engine.drain(grace);
        if (ended > 0) {
            logger.info("shutting down: ended {} generations with finish reason shutdown", ended);
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }
}
