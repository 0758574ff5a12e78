package dev.kotodama.engine;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.sun.management.HotSpotDiagnosticMXBean;
import dev.kotodama.engine.sampling.Sampler;
import dev.kotodama.engine.sampling.Samplers;
import dev.kotodama.engine.sampling.TokenHistory;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;

/**
 * Runs generations on one decoder: admission by KV-cache budget, a bounded queue, and one engine
 * thread that gives every active generation one step in turn (so concurrent generations progress
 * fairly, and ONNX Runtime's intra-op threads are not oversubscribed).
 *
 * <pre>
 * generate() ─► admitted (its KV cache fits the budget) ─┐
 *            └► waiting (queue not full) ─ on release ───┤     engine thread, round robin:
 *            └► Busy error                               └──►  prefill | decode step ─► sample ─► emit ─► stop?
 * </pre>
 *
 * <p>A failure of one generation (an exception or an error such as {@link OutOfMemoryError} in its
 * start or any step) ends that generation's stream with an {@link EngineException}; the others go on.
 * If the engine thread itself ends, every waiting and new generation fails at once with
 * {@link EngineException.Stopped} and {@link #stoppedBecause()} says why.
 */
public final class Engine implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(Engine.class);

    private static final long DIRECT_MEMORY_LIMIT = directMemoryLimit();

    private final Decoder decoder;

    private final EngineOptions options;

    private final long kvBytesPerToken;

    private final long kvBudgetBytes;

    private final Set<Integer> modelStopIds;

    private final Function<GenerationRequest, Sampler> samplers;

    private final ReentrantLock lock = new ReentrantLock();

    private final Condition work = lock.newCondition();

    private final Condition drained = lock.newCondition(); // signalled whenever a generation ends

    private final Deque<Ticket> admitted = new ArrayDeque<>(); // guarded by lock

    private final Deque<Ticket> waiting = new ArrayDeque<>(); // guarded by lock

    private long reservedBytes; // guarded by lock

    private boolean closed; // guarded by lock

    private final List<Active> active = new ArrayList<>(); // engine thread only

    private final List<Ticket> starting = new ArrayList<>(); // admitted, being started; engine thread only

    private volatile @Nullable String stoppedBecause; // set when the engine thread has ended on a failure

    private final Thread thread;

    private int admittedCount; // generations holding a KV reservation, started or about to start; guarded by lock

    private boolean draining; // no new requests; guarded by lock

    private volatile boolean endNow; // running generations end with SHUTDOWN at their next step

    private volatile EngineObserver observer = EngineObserver.NONE;

    public Engine(Decoder decoder, EngineOptions options) {
        this(decoder, options, request -> Samplers.create(request.sampling()));
    }

    /**
     * @param samplers makes each generation's sampler from its request (normally from its sampling
     *     parameters; a test may force tokens)
     */
    public Engine(Decoder decoder, EngineOptions options, Function<GenerationRequest, Sampler> samplers) {
        this.decoder = Objects.requireNonNull(decoder, "decoder must not be null");
        this.options = Objects.requireNonNull(options, "options must not be null");
        this.samplers = Objects.requireNonNull(samplers, "samplers must not be null");
        ModelDirectory directory = decoder.directory();
        this.kvBytesPerToken = directory.decoder().kvBytesPerToken(directory.manifest().kvCacheType());
        this.modelStopIds = Set.copyOf(directory.manifest().stopTokenIds());
        this.kvBudgetBytes = Math.min(options.kvCacheBudgetBytes(), DIRECT_MEMORY_LIMIT - DIRECT_MEMORY_LIMIT / 8);
        if (kvBudgetBytes < options.kvCacheBudgetBytes()) {
            logger.warn("the KV-cache budget of {} MiB is more than the JVM may allocate outside its heap ({} MiB):"
                    + " the engine admits generations within {} MiB (an eighth stays for other buffers); give the JVM"
                    + " -XX:MaxDirectMemorySize= above the budget (it defaults to the heap's maximum) or lower"
                    + " kotodama.kv-cache-budget",
                    mib(options.kvCacheBudgetBytes()), mib(DIRECT_MEMORY_LIMIT), mib(kvBudgetBytes));
        }
        this.thread = new Thread(this::loop, "kotodama-engine");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    public Decoder decoder() {
        return decoder;
    }

    /**
     * The KV-cache memory that generations may hold together: the configured budget, or less where the
     * JVM's direct-memory limit (where KV caches live) is smaller, so that a full budget queues
     * generations instead of failing them with an {@link OutOfMemoryError}. An eighth of that limit stays
     * for the other direct buffers (the decoder's inputs and logits, the web server's).
     */
    public long kvCacheBudgetBytes() {
        return kvBudgetBytes;
    }

    /** What {@code ByteBuffer.allocateDirect} may hold in all: -XX:MaxDirectMemorySize, by default the heap's maximum. */
    private static long directMemoryLimit() {
        try {
            long set = Long.parseLong(ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                .getVMOption("MaxDirectMemorySize").getValue());
            return set > 0 ? set : Runtime.getRuntime().maxMemory();
        }
        catch (RuntimeException ex) { // not HotSpot: no limit known
            return Long.MAX_VALUE;
        }
    }

    /**
     * Generates tokens for a request: {@link GenerationEvent.Token}s, then one
     * {@link GenerationEvent.Finished}. Cancelling the subscription stops the generation within one
     * step (an in-flight step is aborted) and frees its cache.
     *
     * <p>The flux fails with {@link EngineException.ContextLengthExceeded} when the request cannot fit
     * (prompt plus max tokens beyond the model's context, or its cache beyond the whole KV budget),
     * and with {@link EngineException.Busy} when the queue is full; neither does any work.
     */
    public Flux<GenerationEvent> generate(GenerationRequest request) {
        Objects.requireNonNull(request, "request must not be null");
        int context = decoder.directory().manifest().contextLength();
        if (request.capacity() > context) {
            return Flux.error(EngineException.ContextLengthExceeded.of(request.promptIds().length, request.maxTokens(),
                    context));
        }
        long bytes = request.capacity() * kvBytesPerToken;
        if (bytes > kvBudgetBytes) {
            return Flux.error(new EngineException.ContextLengthExceeded("the prompt's " + request.promptIds().length
                    + " tokens plus max tokens " + request.maxTokens() + " need " + mib(bytes)
                    + " MiB of KV cache, more than the whole budget of " + mib(kvBudgetBytes)
                    + " MiB; shorten the prompt or lower max tokens"));
        }
        return Flux.defer(() -> {
            EngineObserver watching = observer;
            long[] previous = { 0 };
            return Flux.<GenerationEvent>create(sink -> submit(new Ticket(request, bytes, sink)),
                    FluxSink.OverflowStrategy.BUFFER)
                .doOnNext(event -> {
                    if (event instanceof GenerationEvent.Token token) {
                        watching.token(token.index(), token.nanosSinceStart() - previous[0]);
                        previous[0] = token.nanosSinceStart();
                    }
                    else {
                        watching.finished((GenerationEvent.Finished) event);
                    }
                });
        });
    }

    /** Sees every generation's tokens and endings (metrics); replaces the previous observer. */
    public void observe(EngineObserver observer) {
        this.observer = Objects.requireNonNull(observer, "observer must not be null");
    }

    /**
     * Shuts down gently: from now on requests fail with {@link EngineException.ShuttingDown}; running and
     * queued generations may finish for up to {@code grace}; then the ones left end with
     * {@link FinishReason#SHUTDOWN} (their streams complete normally).
     *
     * @return how many generations were ended by the shutdown rather than finishing by themselves
     */
    public int drain(Duration grace) {
        long deadline = System.nanoTime() + grace.toNanos();
        List<Ticket> queued;
        lock.lock();
        try {
            draining = true;
            while ((admittedCount > 0 || !waiting.isEmpty()) && System.nanoTime() < deadline) {
                drained.awaitNanos(Math.max(1, deadline - System.nanoTime()));
            }
            queued = new ArrayList<>(waiting);
            waiting.clear();
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            queued = List.of();
        }
        finally {
            lock.unlock();
        }
        int ended = queued.size();
        for (Ticket ticket : queued) {
            ticket.closeRunOptions();
            ticket.sink.next(new GenerationEvent.Finished(FinishReason.SHUTDOWN, ticket.request.promptIds().length, 0,
                    0, 0, System.nanoTime() - ticket.submittedAt));
            ticket.sink.complete();
        }
        int running = activeCount();
        if (running == 0) {
            return ended;
        }
        endNow = true;
        lock.lock();
        try {
            work.signal();
            long stepDeadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (admittedCount > 0 && System.nanoTime() < stepDeadline) {
                drained.awaitNanos(Math.max(1, stepDeadline - System.nanoTime()));
            }
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
        finally {
            lock.unlock();
        }
        return ended + running;
    }

    /** Why the engine thread ended on a failure (no generation can run any more); null while it runs. */
    public @Nullable String stoppedBecause() {
        return stoppedBecause;
    }

    /** Generations admitted (holding their KV reservation) and not yet ended. */
    public int activeCount() {
        lock.lock();
        try {
            return admittedCount;
        }
        finally {
            lock.unlock();
        }
    }

    /** Generations waiting for admission. */
    public int queuedCount() {
        lock.lock();
        try {
            return waiting.size();
        }
        finally {
            lock.unlock();
        }
    }

    /** KV-cache bytes reserved by admitted generations. */
    public long reservedKvBytes() {
        lock.lock();
        try {
            return reservedBytes;
        }
        finally {
            lock.unlock();
        }
    }


    private void submit(Ticket ticket) {
        lock.lock();
        try {
            if (stoppedBecause != null) {
                ticket.closeRunOptions();
                ticket.sink.error(stopped());
                return;
            }
            if (closed || draining) {
                ticket.closeRunOptions();
                ticket.sink.error(new EngineException.ShuttingDown("the server is shutting down; retry on another instance or after its restart"));
                return;
            }
            if (waiting.isEmpty() && reservedBytes + ticket.bytes <= kvBudgetBytes) {
                reservedBytes += ticket.bytes;
                admittedCount++;
                admitted.add(ticket);
                work.signal();
            }
            else if (waiting.size() < options.maxQueued()) {
                waiting.add(ticket);
            }
            else {
                ticket.closeRunOptions();
                ticket.sink.error(new EngineException.Busy("all generation slots are taken and " + waiting.size()
                        + " requests are queued; retry later"));
                return;
            }
        }
        finally {
            lock.unlock();
        }
        ticket.sink.onDispose(ticket::cancel);
    }

    private void release(Ticket ticket) {
        lock.lock();
        try {
            reservedBytes -= ticket.bytes;
            admittedCount--;
            while (!waiting.isEmpty() && reservedBytes + waiting.peek().bytes <= kvBudgetBytes) {
                Ticket next = waiting.poll();
                reservedBytes += next.bytes;
                admittedCount++;
                admitted.add(next);
            }
            drained.signalAll();
        }
        finally {
            lock.unlock();
        }
    }

    private void loop() {
        try {
            serve();
        }
        catch (Throwable failure) { // outside any one generation: nothing can run any more
            logger.error("the engine thread stopped: every waiting and new generation fails until a restart", failure);
            stop(failure);
        }
    }

    private void serve() {
        while (true) {
            lock.lock();
            try {
                while (!closed && admitted.isEmpty() && active.isEmpty()) {
                    work.awaitUninterruptibly();
                }
                if (closed) {
                    break;
                }
                starting.addAll(admitted);
                admitted.clear();
            }
            finally {
                lock.unlock();
            }
            for (Ticket ticket : starting) {
                start(ticket);
            }
            starting.clear();
            for (Iterator<Active> it = active.iterator(); it.hasNext();) {
                Active generation = it.next();
                boolean goesOn;
                try {
                    goesOn = advance(generation);
                }
                catch (Throwable failure) {
                    fail(generation.ticket, failure);
                    goesOn = false;
                }
                if (!goesOn) {
                    it.remove();
                    generation.close();
                    release(generation.ticket);
                }
            }
        }
        active.forEach(Active::close);
        active.clear();
    }

    private void start(Ticket ticket) {
        if (ticket.cancelled) {
            ticket.closeRunOptions();
            release(ticket);
            return;
        }
        try {
            active.add(new Active(ticket, decoder.newCache((int) ticket.request.capacity()), samplers.apply(ticket.request),
                    decoder.directory().manifest().vocabularySize()));
        }
        catch (Throwable failure) { // OutOfMemoryError from allocateDirect, for one
            ticket.closeRunOptions();
            fail(ticket, failure);
            release(ticket);
        }
    }

    /**
     * Ends one generation's stream on an unexpected failure. A subscriber that throws on the error does
     * not stop the engine; an {@link Error} while failing the generation does (the JVM is in trouble).
     */
    private void fail(Ticket ticket, Throwable failure) {
        if (ticket.cancelled) {
            return;
        }
        ticket.log(() -> logger.error("a generation failed inside the engine; the other generations go on", failure));
        try {
            ticket.sink.error(new EngineException("the generation failed inside the engine ("
                    + failure.getClass().getSimpleName() + "); the server log has the details"));
        }
        catch (RuntimeException ex) {
            logger.warn("the subscriber of a failed generation failed on its error", ex);
        }
    }

    /** After the engine thread failed: every generation it held or would run fails now, and new ones at once. */
    private void stop(Throwable failure) {
        List<Ticket> abandoned = new ArrayList<>(starting);
        starting.clear();
        lock.lock();
        try {
            stoppedBecause = failure.getClass().getSimpleName() + ": " + failure.getMessage();
            abandoned.addAll(admitted);
            abandoned.addAll(waiting);
            admitted.clear();
            waiting.clear();
            reservedBytes = 0;
            admittedCount = 0;
            drained.signalAll();
        }
        finally {
            lock.unlock();
        }
        for (Active generation : active) {
            abandoned.add(generation.ticket);
            try {
                generation.close();
            }
            catch (RuntimeException ex) {
                logger.warn("could not free a generation's KV cache", ex);
            }
        }
        active.clear();
        EngineException error = stopped();
        for (Ticket ticket : abandoned) {
            try {
                ticket.closeRunOptions();
                ticket.sink.error(error);
            }
            catch (RuntimeException ex) {
                logger.warn("the subscriber of a stopped generation failed on its error", ex);
            }
        }
    }

    private EngineException stopped() {
        return new EngineException.Stopped("the engine stopped after a failure (" + stoppedBecause
                + "); the server needs a restart");
    }

    /** One prefill or decode step; false when the generation has ended. */
    private boolean advance(Active generation) {
        Ticket ticket = generation.ticket;
        if (ticket.cancelled) {
            return false;
        }
        if (endNow) {
            return finish(generation, FinishReason.SHUTDOWN, System.nanoTime());
        }
        long started = System.nanoTime();
        if (started - generation.startedAt >= options.maxGenerationTime().toNanos()) {
            return finish(generation, FinishReason.LENGTH, started);
        }
        GenerationRequest request = ticket.request;
        try {
            int[] input = generation.generated == 0 ? request.promptIds() : new int[] {generation.lastToken};
            decoder.step(generation.cache, input, generation.logits, ticket.runOptions);
        }
        catch (OrtException ex) {
            if (!ticket.cancelled) {
                ticket.log(() -> logger.error("generation failed in ONNX Runtime", ex));
                ticket.sink.error(new EngineException("the model failed on this generation (ONNX Runtime); the server "
                        + "log has the details"));
            }
            return false;
        }
        long now = System.nanoTime();
        int token;
        try {
            token = generation.sampler.sample(generation.logits, generation.history);
        }
        catch (RuntimeException ex) { // NaN logits, for one: this generation fails, the engine goes on
            ticket.log(() -> logger.error("sampling failed", ex));
            ticket.sink.error(new EngineException("sampling failed: " + ex.getMessage()));
            return false;
        }
        if (generation.generated == 0) {
            generation.firstTokenAt = now;
        }
        if (modelStopIds.contains(token) || request.stopTokenIds().contains(token)) {
            return finish(generation, FinishReason.STOP, now);
        }
        generation.history.append(token);
        generation.lastToken = token;
        ticket.sink.next(new GenerationEvent.Token(token, generation.generated, now - generation.startedAt));
        generation.generated++;
        return generation.generated < request.maxTokens() || finish(generation, FinishReason.LENGTH, now);
    }

    private static boolean finish(Active generation, FinishReason reason, long now) {
        Ticket ticket = generation.ticket;
        long ttft = generation.firstTokenAt == 0 ? 0 : generation.firstTokenAt - generation.startedAt;
        long decode = generation.firstTokenAt == 0 ? 0 : now - generation.firstTokenAt;
        ticket.sink.next(new GenerationEvent.Finished(reason, ticket.request.promptIds().length, generation.generated,
                ttft, decode, generation.startedAt - ticket.submittedAt));
        ticket.sink.complete();
        return false;
    }

    @Override
    public void close() throws OrtException {
        List<Ticket> abandoned;
        lock.lock();
        try {
            closed = true;
            abandoned = new ArrayList<>(waiting);
            abandoned.addAll(admitted);
            waiting.clear();
            admitted.clear();
            work.signal();
        }
        finally {
            lock.unlock();
        }
        for (Ticket ticket : abandoned) {
            ticket.closeRunOptions();
            ticket.sink.error(new EngineException("the engine is shut down"));
        }
        try {
            thread.join();
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
        decoder.close();
    }

    private static long mib(long bytes) {
        return bytes >> 20;
    }

    /** A request from submission to its end; cancel() may come from any thread. */
    private final class Ticket {

        final GenerationRequest request;

        final long bytes;

        final FluxSink<GenerationEvent> sink;

        final OrtSession.RunOptions runOptions;

        final long submittedAt = System.nanoTime();

        final @Nullable Map<String, String> logContext = MDC.getCopyOfContextMap(); // the submitter's: its request id

        volatile boolean cancelled;

        private boolean runOptionsClosed; // guarded by this

        Ticket(GenerationRequest request, long bytes, FluxSink<GenerationEvent> sink) {
            this.request = request;
            this.bytes = bytes;
            this.sink = sink;
            try {
                this.runOptions = new OrtSession.RunOptions();
            }
            catch (OrtException ex) {
                throw new IllegalStateException("ONNX Runtime cannot create run options", ex);
            }
        }

        /** Logs on the engine thread with the submitter's logging context. */
        void log(Runnable logging) {
            Map<String, String> engineContext = MDC.getCopyOfContextMap();
            MDC.setContextMap(logContext != null ? logContext : Map.of());
            try {
                logging.run();
            }
            finally {
                MDC.setContextMap(engineContext != null ? engineContext : Map.of());
            }
        }

        void cancel() {
            if (cancelled) {
                return;
            }
            cancelled = true;
            boolean wasWaiting;
            lock.lock();
            try {
                wasWaiting = waiting.remove(this);
            }
            finally {
                lock.unlock();
            }
            if (wasWaiting) {
                closeRunOptions();
            }
            else {
                terminate();
            }
        }

        /** Aborts a step in flight; synchronized with closeRunOptions so the native handle is alive. */
        private synchronized void terminate() {
            if (runOptionsClosed) {
                return;
            }
            try {
                runOptions.setTerminate(true);
            }
            catch (OrtException ex) {
                logger.debug("could not abort a running step", ex);
            }
        }

        synchronized void closeRunOptions() {
            if (!runOptionsClosed) {
                runOptionsClosed = true;
                runOptions.close();
            }
        }
    }

    /** An admitted generation's state, owned by the engine thread. */
    private static final class Active implements AutoCloseable {

        final Ticket ticket;

        final KvCache cache;

        final Sampler sampler;

        final TokenHistory history;

        final float[] logits; // [vocabulary], reused every step

        final long startedAt = System.nanoTime();

        long firstTokenAt;

        int generated;

        int lastToken;

        Active(Ticket ticket, KvCache cache, Sampler sampler, int vocabulary) {
            this.ticket = ticket;
            this.cache = cache;
            this.sampler = sampler;
            this.history = TokenHistory.of(ticket.request.promptIds());
            this.logits = new float[vocabulary];
        }

        @Override
        public void close() {
            cache.close();
            ticket.closeRunOptions();
        }
    }
}
