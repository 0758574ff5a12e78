package dev.kotodama.ai;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/** Stop sequences on streamed answer text: held back while they may begin, cut where they appear. */
class StopSequencesTests {

    /** The text let through for each delta, then whether a sequence stopped the answer. */
    private static List<String> feed(StopSequences stops, String... deltas) {
        List<String> out = new ArrayList<>();
        for (String delta : deltas) {
            StopSequences.Step step = stops.push(delta);
            out.add(step.text());
            if (step.stopped()) {
                out.add("<stopped>");
                return out;
            }
        }
        out.add("flush:" + stops.flush());
        return out;
    }

    @Test
    void withoutStopSequencesEveryDeltaPassesAtOnce() {
        assertThat(feed(new StopSequences(List.of()), "a", "b")).containsExactly("a", "b", "flush:");
    }

    @Test
    void aSequenceSplitAcrossDeltasIsHeldBackAndCut() {
        assertThat(feed(new StopSequences(List.of("STOP")), "Hello S", "TO", "P and more"))
            .containsExactly("Hello ", "", "", "<stopped>");
    }

    @Test
    void heldTextThatTurnsOutNotToBeASequenceIsReleased() {
        assertThat(feed(new StopSequences(List.of("STOP")), "a ST", "ORE", " b S"))
            .containsExactly("a ", "STORE", " b ", "flush:S");
    }

    @Test
    void theEarliestOfSeveralSequencesCuts() {
        assertThat(feed(new StopSequences(List.of("world", "lo")), "hello world")).containsExactly("hel", "<stopped>");
    }

    @Test
    void aSequenceInsideOneDeltaCutsThatDelta() {
        assertThat(feed(new StopSequences(List.of("。")), "東京です。次に")).containsExactly("東京です", "<stopped>");
    }

    @Test
    void anEmptySequenceIsRefused() {
        assertThatIllegalArgumentException().isThrownBy(() -> new StopSequences(List.of("")));
    }
}
