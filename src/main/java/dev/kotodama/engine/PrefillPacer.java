package dev.kotodama.engine;

/**
 * How many prompt tokens the next prefill run takes. With no generation decoding, the most a run may
 * take ({@link EngineOptions#prefillChunk()}): nobody waits for it. While generations decode, a chunk
 * that takes about {@link EngineOptions#prefillPace()} times as long as their decode step, so their token
 * gaps grow to about 1 + pace times while a prompt fills, whatever the model's size and the processor:
 * on a CPU a prompt token costs about what a whole decode step of a small batch costs, so a fixed chunk
 * that is harmless on a small model stalls the streams of a large one for seconds.
 *
 * <p>The times are running averages of the runs measured so far, so the chunk follows the machine and
 * the batch as they change. Engine thread only.
 */
final class PrefillPacer {

    /** Tokens of a paced chunk before any prefill has been measured. */
    static final int FIRST_CHUNK = 16;

    /** The fewest tokens of a paced chunk, so that a prompt still fills when decode steps are quick. */
    static final int MIN_CHUNK = 8;

    private static final double WEIGHT = 0.5; // of the newest measurement in the running averages

    private final int maxChunk;

    private final double pace;

    private double stepNanos = Double.NaN; // a batched decode step

    private double tokenNanos = Double.NaN; // a prompt token of a prefill run

    PrefillPacer(int maxChunk, double pace) {
        this.maxChunk = maxChunk;
        this.pace = pace;
    }

    /** A batched decode step took {@code nanos}. */
    void decoded(long nanos) {
        stepNanos = average(stepNanos, nanos);
    }

    /** A prefill run of {@code tokens} tokens took {@code nanos}. */
    void prefilled(int tokens, long nanos) {
        tokenNanos = average(tokenNanos, (double) nanos / tokens);
    }

    /** Tokens for the next prefill run, given whether generations are decoding meanwhile. */
    int chunk(boolean othersDecoding) {
        if (!othersDecoding || pace == 0) {
            return maxChunk;
        }
        if (Double.isNaN(stepNanos) || Double.isNaN(tokenNanos)) {
            return Math.min(maxChunk, FIRST_CHUNK);
        }
        long paced = (long) (pace * stepNanos / tokenNanos);
        return (int) Math.max(Math.min(MIN_CHUNK, maxChunk), Math.min(maxChunk, paced));
    }

    private static double average(double previous, double measured) {
        return Double.isNaN(previous) ? measured : previous + WEIGHT * (measured - previous);
    }
}
