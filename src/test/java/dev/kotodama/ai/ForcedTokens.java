package dev.kotodama.ai;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import dev.kotodama.engine.GenerationRequest;
import dev.kotodama.engine.sampling.Sampler;
import dev.kotodama.engine.sampling.Samplers;

/**
 * The engine's sampler hook for tests: each generation takes the next queued script of token ids
 * (what a trained model would have generated), or samples the real logits when none is queued; it
 * records every request and counts the tokens sampled. Thread-safe.
 */
final class ForcedTokens implements Function<GenerationRequest, Sampler> {

    /** Ids to generate in order, then {@code repeat} forever (or, when it is negative, the model's tokens). */
    record Script(int[] ids, int repeat) {

        static Script of(int[] ids) {
            return new Script(ids, -1);
        }

        static Script endless(int[] start, int repeat) {
            return new Script(start, repeat);
        }
    }

    private final Deque<Script> scripts = new ArrayDeque<>();

    private final List<GenerationRequest> requests = new ArrayList<>();

    private final AtomicInteger sampled = new AtomicInteger();

    synchronized ForcedTokens then(Script script) {
        scripts.add(script);
        return this;
    }

    synchronized ForcedTokens then(int[] ids) {
        return then(Script.of(ids));
    }

    synchronized List<GenerationRequest> requests() {
        return List.copyOf(requests);
    }

    synchronized void reset() {
        scripts.clear();
        requests.clear();
    }

    /** Tokens sampled so far, over all generations. */
    int sampled() {
        return sampled.get();
    }

    @Override
    public synchronized Sampler apply(GenerationRequest request) {
        requests.add(request);
        Script script = scripts.poll();
        Sampler model = Samplers.create(request.sampling());
        if (script == null) {
            return (logits, history) -> {
                sampled.incrementAndGet();
                return model.sample(logits, history);
            };
        }
        int[] ids = Arrays.copyOf(script.ids(), script.ids().length);
        AtomicInteger next = new AtomicInteger();
        return (logits, history) -> {
            sampled.incrementAndGet();
            int index = next.getAndIncrement();
            if (index < ids.length) {
                return ids[index];
            }
            return script.repeat() >= 0 ? script.repeat() : model.sample(logits, history);
        };
    }
}
