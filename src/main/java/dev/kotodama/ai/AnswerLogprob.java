package dev.kotodama.ai;

import java.util.List;
import java.util.Objects;

/**
 * One answer token with its log probability and the most probable tokens at its step, as OpenAI's
 * {@code logprobs.content[]} entry: the log-softmax of the model's own logits, before penalties,
 * temperature and truncation. The generation metadata of a chunk holds the list of its answer tokens'
 * under {@link KotodamaChatModel#LOGPROBS}.
 *
 * @param token the token's text on its own ({@code U+FFFD} for a byte that is part of a character)
 * @param logprob its natural-log probability
 * @param bytes the UTF-8 bytes it stands for
 * @param top the most probable tokens at its step, most probable first ({@code topLogprobs} of them)
 */
public record AnswerLogprob(String token, double logprob, List<Integer> bytes, List<Alternative> top) {

    public AnswerLogprob {
        Objects.requireNonNull(token, "token must not be null");
        bytes = List.copyOf(bytes);
        top = List.copyOf(top);
    }

    /** A token that could have come at that step. */
    public record Alternative(String token, double logprob, List<Integer> bytes) {

        public Alternative {
            Objects.requireNonNull(token, "token must not be null");
            bytes = List.copyOf(bytes);
        }
    }
}
