package dev.kotodama.engine;

/**
 * Ends a running generation as if the model had stopped, for a caller that found its own end (a stop
 * sequence): at the engine's next step the generation emits {@link GenerationEvent.Finished} with
 * {@link FinishReason#STOP}, frees its slot, and then its flux completes. Unlike cancelling the
 * subscription, which ends the flux at once while the slot is freed a step later, the caller sees the end
 * only when a new generation can take the slot. Raising it again, or after the generation ended, does
 * nothing. One signal serves one generation: a flux subscribed again shares it, and a raised signal ends
 * the new generation at its first step.
 */
public final class StopSignal {

    private volatile boolean raised;

    /** Asks the engine to end the generation at its next step. */
    public void raise() {
        raised = true;
    }

    boolean raised() {
        return raised;
    }

}
