package dev.kotodama.ai;

import dev.kotodama.engine.Engine;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;

/**
 * The health of the served model ({@code model} in {@code /actuator/health}, and part of the readiness
 * group): OUT_OF_SERVICE while the warm-up generation runs, UP after it, DOWN when it failed, when the
 * engine thread has stopped or when no model is served.
 */
public class ModelHealthIndicator extends AbstractHealthIndicator {

    private final @Nullable Engine engine;

    private final @Nullable EngineWarmUp warmUp;

    public ModelHealthIndicator(@Nullable Engine engine, @Nullable EngineWarmUp warmUp) {
        super("the model's health could not be read");
        this.engine = engine;
        this.warmUp = warmUp;
    }

    @Override
    protected void doHealthCheck(Health.Builder health) {
        if (engine == null || warmUp == null) {
            health.down().withDetail("reason", "no model is served: set kotodama.model-dir (or kotodama.demo-model=true)");
            return;
        }
        String stopped = engine.stoppedBecause();
        if (stopped != null) {
            health.down().withDetail("reason", "the engine thread stopped (" + stopped + "): restart the server");
            return;
        }
        health.withDetail("activeGenerations", engine.activeCount()).withDetail("queuedGenerations", engine.queuedCount());
        switch (warmUp.state()) {
            case PENDING -> health.status(Status.OUT_OF_SERVICE).withDetail("reason", "warming up");
            case DONE -> health.up().withDetail("warmUpMillis", warmUp.millis());
            case FAILED -> health.down().withDetail("reason", "the warm-up generation failed: " + warmUp.failure());
        }
    }
}
