package dev.kotodama.engine;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class PrefillPacerTests {

    private static final long MS = 1_000_000;

    @Test
    void withNobodyDecodingAPromptFillsInTheLargestChunks() {
        PrefillPacer pacer = new PrefillPacer(256, 2);
        pacer.decoded(500 * MS);
        pacer.prefilled(256, 256 * 57 * MS);
        assertThat(pacer.chunk(false)).isEqualTo(256);
    }

    @Test
    void whileOthersDecodeAChunkTakesAboutPaceDecodeSteps() {
        // the full llm-jp-4-8b on a 2-core CPU: a decode step of 8 rows 500 ms, a prompt token 57 ms
        PrefillPacer pacer = new PrefillPacer(256, 2);
        pacer.decoded(500 * MS);
        pacer.prefilled(256, 256 * 57 * MS);
        assertThat(pacer.chunk(true)).isEqualTo(17); // 17 x 57 ms = 0.97 s, two steps' time

        // a small model: decode steps of 60 ms, prompt tokens of 1 ms
        PrefillPacer small = new PrefillPacer(256, 2);
        small.decoded(60 * MS);
        small.prefilled(128, 128 * MS);
        assertThat(small.chunk(true)).isEqualTo(120);
    }

    @Test
    void theChunkFollowsTheMeasuredTimes() {
        PrefillPacer pacer = new PrefillPacer(256, 2);
        pacer.decoded(500 * MS);
        pacer.prefilled(256, 256 * 57 * MS);
        for (int i = 0; i < 20; i++) { // small chunks cost more per token (the weights are read once a run)
            pacer.prefilled(17, 17 * 57 * MS + 200 * MS);
        }
        assertThat(pacer.chunk(true)).isEqualTo(14); // 1 s / (57 + 200 / 17 ms)
        for (int i = 0; i < 20; i++) { // the batch grew: decode steps take longer, so may chunks
            pacer.decoded(800 * MS);
        }
        assertThat(pacer.chunk(true)).isEqualTo(23);
    }

    @Test
    void chunksStayWithinTheirBoundsAndStartSmall() {
        PrefillPacer pacer = new PrefillPacer(256, 2);
        assertThat(pacer.chunk(true)).as("nothing measured yet").isEqualTo(PrefillPacer.FIRST_CHUNK);
        pacer.decoded(1 * MS);
        pacer.prefilled(100, 100 * 10 * MS);
        assertThat(pacer.chunk(true)).as("decode steps far quicker than a token").isEqualTo(PrefillPacer.MIN_CHUNK);
        pacer.decoded(10_000 * MS);
        pacer.decoded(10_000 * MS);
        assertThat(pacer.chunk(true)).as("decode steps far slower").isEqualTo(256);
        assertThat(new PrefillPacer(5, 2).chunk(true)).as("a largest chunk below the first").isEqualTo(5);
    }

    @Test
    void paceZeroAlwaysTakesTheLargestChunk() {
        PrefillPacer pacer = new PrefillPacer(128, 0);
        pacer.decoded(500 * MS);
        pacer.prefilled(128, 128 * 57 * MS);
        assertThat(pacer.chunk(true)).isEqualTo(128);
    }
}
