package dev.kotodama.ai;

import dev.kotodama.engine.Engine;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * Whether the engine thread runs ({@code engine} in {@code /actuator/health}, and part of the liveness
 * group): DOWN once it has stopped, since only a restart brings it back, so that a supervisor that
 * probes liveness (Kubernetes) restarts the process instead of leaving it unready for good. UP when no
 * model is served: that is readiness's matter ({@code model}).
 */
public class EngineHealthIndicator extends AbstractHealthIndicator {

    private final @Nullable Engine engine;

    public EngineHealthIndicator(@Nullable Engine engine) {
        super("the engine's health could not be read");
        this.engine = engine;
    }

    @Override
    protected void doHealthCheck(Health.Builder health) {
        String stopped = engine == null ? null : engine.stoppedBecause();
        if (stopped != null) {
            health.down().withDetail("reason", "the engine thread stopped (" + stopped + "): restart the server");
        }
        else {
            health.up();
        }
    }
}
