package dev.kotodama.engine;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
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
 * Runs generations on one decoder with continuous batching: the KV-cache budget holds a fixed number of
 * sequences ({@link EngineOptions#maxBatch()} rows of {@link #maxSequenceTokens()} tokens each), and one
 * engine thread runs, at every step, the next token of every generation that is decoding as one batched
 * run, then one chunk of at most {@link EngineOptions#prefillChunk()} prompt tokens of the oldest
 * generation still prefilling, cut while others decode to take about {@link EngineOptions#prefillPace()}
 * decode steps' time ({@link PrefillPacer}). A new generation joins the batch once its prompt is in; one
 * that ends or is cancelled leaves it at the next step.
 *
 * <pre>
 * generate() ─► admitted (a row is free) ───────────────┐
 *            └► waiting (queue not full) ─ on release ──┤     engine thread, every step:
 *            └► Busy error                              └──►  decode all decoding rows (one run) ─► sample ─► emit
 *                                                              one prefill chunk of the oldest newcomer
 * </pre>
 *
 * <p>Prefix reuse: a row keeps the KV of what it last held after its generation ends, until another
 * generation needs the row (the least recently used goes first). A newcomer whose prompt starts with
 * the ids that some row holds, running or not, prefills only the rest: in that row itself when it is
 * free, else after copying that prefix into its own row. Reuse goes up to the longest common prefix of
 * ids and never past it, and leaves at least the prompt's last token to run.
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

    private final KvCache cache;

    private final int[][] rowIds; // per row, the ids its KV holds (cache.length(row) of them); engine thread only

    private final boolean[] rowBusy; // engine thread only

    private final long[] rowLastUsed; // engine thread only

    private long uses; // engine thread only

    private final OrtSession.RunOptions batchRunOptions; // batched decode steps, which no one generation may abort

    private final PrefillPacer pacer; // engine thread only

    private final LongAdder reusedPromptTokens = new LongAdder();

    private final LongAdder promptTokens = new LongAdder();

    private volatile int batchSize;

    private final Set<Integer> modelStopIds;

    private final Function<GenerationRequest, Sampler> samplers;

    private final ReentrantLock lock = new ReentrantLock();

    private final Condition work = lock.newCondition();

    private final Condition drained = lock.newCondition(); // signalled whenever a generation ends

    private final Deque<Ticket> admitted = new ArrayDeque<>(); // guarded by lock

    private final Deque<Ticket> waiting = new ArrayDeque<>(); // guarded by lock

    private boolean closed; // guarded by lock

    private final List<Active> active = new ArrayList<>(); // engine thread only

    private final List<Ticket> starting = new ArrayList<>(); // admitted, being started; engine thread only

    private volatile @Nullable String stoppedBecause; // set when the engine thread has ended on a failure

    private final Thread thread;

    private int admittedCount; // generations holding a KV reservation, started or about to start; guarded by lock

    private int completing; // generations released but whose stream has yet to complete; guarded by lock

    private boolean draining; // no new requests; guarded by lock

    private volatile boolean endNow; // running generations end with SHUTDOWN at their next step

    private volatile EngineObserver observer = EngineObserver.NONE;

    public Engine(Decoder decoder, EngineOptions options) {
        this(decoder, options, request -> Samplers.create(request.sampling(), request.unpenalizedIds()));
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
        DecoderSpec spec = directory.decoder();
        long perRow = kvBudgetBytes / options.maxBatch() / kvBytesPerToken;
        if (perRow < 2) {
            throw new KvBudgetException("a KV-cache budget of " + kvBudgetBytes + " bytes cannot hold "
                    + options.maxBatch() + " sequences of even two tokens (a token takes " + kvBytesPerToken
                    + " bytes); raise the budget (kotodama.kv-cache-budget) or lower kotodama.max-batch");
        }
        long layerRowTokens = Integer.MAX_VALUE / ((long) options.maxBatch() * spec.kvHeads() * spec.headDim()
                * directory.manifest().kvCacheType().bytes()) - 1; // one layer's keys are one buffer
        int rowTokens = (int) Math.min(Math.min(perRow, directory.manifest().contextLength()), layerRowTokens);
        this.cache = decoder.newCache(options.maxBatch(), rowTokens);
        this.rowIds = new int[options.maxBatch()][rowTokens];
        this.rowBusy = new boolean[options.maxBatch()];
        this.rowLastUsed = new long[options.maxBatch()];
        this.pacer = new PrefillPacer(options.prefillChunk(), options.prefillPace());
        try {
            this.batchRunOptions = new OrtSession.RunOptions();
        }
        catch (OrtException ex) {
            cache.close();
            throw new IllegalStateException("ONNX Runtime cannot create run options", ex);
        }
        logger.info("KV cache: {} sequences of up to {} tokens each ({} MiB); prompts prefill in chunks of up to {} tokens{}",
                options.maxBatch(), rowTokens, mib(rowTokens * kvBytesPerToken * options.maxBatch()), options.prefillChunk(),
                options.prefillPace() > 0 ? ", cut to " + options.prefillPace() + " decode steps' time while others decode"
                        : "");
        this.thread = new Thread(this::loop, "kotodama-engine");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    public Decoder decoder() {
        return decoder;
    }

    /**
     * The most tokens one generation may hold, prompt and generated together: the model's context, or
     * less where the KV-cache budget split over {@link EngineOptions#maxBatch()} sequences is smaller.
     */
    public int maxSequenceTokens() {
        return cache.capacity();
    }

    /** Generations in the last batched decode step. */
    public int batchSize() {
        return batchSize;
    }

    /** Prompt tokens that generations took from the KV of earlier ones instead of prefilling them, so far. */
    public long reusedPromptTokens() {
        return reusedPromptTokens.sum();
    }

    /** Prompt tokens of all started generations so far, reused or prefilled. */
    public long startedPromptTokens() {
        return promptTokens.sum();
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
     * (prompt plus max tokens beyond the model's context, or beyond {@link #maxSequenceTokens()}),
     * and with {@link EngineException.Busy} when the queue is full; neither does any work.
     */
    public Flux<GenerationEvent> generate(GenerationRequest request) {
        return generate(request, new StopSignal());
    }

    /**
     * As {@link #generate(GenerationRequest)}, with a signal that ends the generation at the next step
     * (a {@link FinishReason#STOP} finish) and completes the flux once its slot is free.
     */
    public Flux<GenerationEvent> generate(GenerationRequest request, StopSignal stop) {
        Objects.requireNonNull(stop, "stop must not be null");
        Objects.requireNonNull(request, "request must not be null");
        int context = decoder.directory().manifest().contextLength();
        if (request.capacity() > context) {
            return Flux.error(EngineException.ContextLengthExceeded.of(request.promptIds().length, request.maxTokens(),
                    context));
        }
        if (request.capacity() > cache.capacity()) {
            return Flux.error(new EngineException.ContextLengthExceeded("the prompt's " + request.promptIds().length
                    + " tokens plus max tokens " + request.maxTokens() + " are more than the " + cache.capacity()
                    + " tokens that each of the server's " + cache.rows() + " concurrent sequences holds (its KV-cache"
                    + " budget over its batch size); shorten the prompt or lower max tokens"));
        }
        return Flux.defer(() -> {
            EngineObserver watching = observer;
            long[] previous = { 0 };
            return Flux.<GenerationEvent>create(sink -> submit(new Ticket(request, stop, sink)),
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
            while ((admittedCount > 0 || completing > 0 || !waiting.isEmpty()) && System.nanoTime() < deadline) {
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
            while ((admittedCount > 0 || completing > 0) && System.nanoTime() < stepDeadline) {
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

    /** KV-cache bytes of the rows that admitted generations hold. */
    public long reservedKvBytes() {
        lock.lock();
        try {
            return admittedCount * cache.capacity() * kvBytesPerToken;
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
            if (waiting.isEmpty() && admittedCount < cache.rows()) {
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
        release(ticket, false);
    }

    /** Frees the ticket's admission; {@code completes}: its stream completes next (the drain waits for that). */
    private void release(Ticket ticket, boolean completes) {
        lock.lock();
        try {
            admittedCount--;
            if (completes) {
                completing++;
            }
            while (!waiting.isEmpty() && admittedCount < cache.rows()) {
                Ticket next = waiting.poll();
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
            step();
        }
        for (Active generation : active) { // closed without a drain: what still runs fails, as what waited did
            generation.close();
            generation.ticket.sink.error(new EngineException("the engine is shut down"));
        }
        active.clear();
    }

    /** Gives the admitted generation a free row, reusing the longest prefix of its prompt that any row holds. */
    private void start(Ticket ticket) {
        if (ticket.cancelled) {
            ticket.closeRunOptions();
            release(ticket);
            return;
        }
        try {
            int[] prompt = ticket.request.promptIds();
            int source = -1;
            int common = 0;
            for (int row = 0; row < cache.rows(); row++) {
                int length = commonPrefix(rowIds[row], cache.length(row), prompt);
                if (length > common) {
                    source = row;
                    common = length;
                }
            }
            int reuse = Math.min(common, prompt.length - 1);
            int row = reuse > 0 && !rowBusy[source] ? source : freeRow();
            if (reuse > 0 && row != source) {
                cache.copyPrefix(source, row, reuse);
                System.arraycopy(rowIds[source], 0, rowIds[row], 0, reuse);
            }
            else {
                cache.truncate(row, reuse); // in place, or empty
            }
            rowBusy[row] = true;
            reusedPromptTokens.add(reuse);
            promptTokens.add(prompt.length);
            active.add(new Active(ticket, prompt, row, reuse, samplers.apply(ticket.request),
                    decoder.directory().manifest().vocabularySize()));
        }
        catch (Throwable failure) { // OutOfMemoryError, for one
            ticket.closeRunOptions();
            release(ticket);
            fail(ticket, failure);
        }
    }

    private static int commonPrefix(int[] held, int length, int[] prompt) {
        int limit = Math.min(length, prompt.length);
        int i = 0;
        while (i < limit && held[i] == prompt[i]) {
            i++;
        }
        return i;
    }

    /** A row no generation uses: an empty one first, else the one whose KV was used least recently. */
    private int freeRow() {
        int best = -1;
        for (int row = 0; row < cache.rows(); row++) {
            if (rowBusy[row]) {
                continue;
            }
            if (cache.length(row) == 0) {
                return row;
            }
            if (best < 0 || rowLastUsed[row] < rowLastUsed[best]) {
                best = row;
            }
        }
        if (best < 0) {
            throw new IllegalStateException("no free row: admission let in more generations than rows");
        }
        return best;
    }

    /** One engine step: ends what must end, decodes every decoding generation at once, prefills one chunk. */
    private void step() {
        long now = System.nanoTime();
        List<Active> decoding = new ArrayList<>();
        Active prefilling = null;
        for (Active generation : List.copyOf(active)) {
            if (!goesOn(generation, now)) {
                continue;
            }
            if (generation.fed < generation.prompt.length) {
                prefilling = prefilling == null ? generation : prefilling;
            }
            else {
                decoding.add(generation);
            }
        }
        if (!decoding.isEmpty()) {
            decode(decoding);
            for (Active generation : decoding) { // a stop raised during the run ends it before the prefill
                if (generation.ticket.stop.raised() && active.contains(generation)) {
                    goesOn(generation, System.nanoTime());
                }
            }
        }
        if (prefilling != null) {
            prefill(prefilling, pacer.chunk(!decoding.isEmpty()));
        }
    }

    /**
     * Whether the generation goes on at this step; when it does not (cancelled, shut down, stopped by its
     * caller, out of time) it has left the batch.
     */
    private boolean goesOn(Active generation, long now) {
        boolean goesOn;
        Throwable failed = null;
        try {
            if (generation.ticket.cancelled) {
                goesOn = false;
            }
            else if (endNow) {
                goesOn = finish(generation, FinishReason.SHUTDOWN, now);
            }
            else if (generation.ticket.stop.raised()) {
                goesOn = finish(generation, FinishReason.STOP, now);
            }
            else if (now - generation.startedAt >= options.maxGenerationTime().toNanos()) {
                goesOn = finish(generation, FinishReason.LENGTH, now);
            }
            else {
                goesOn = true;
            }
        }
        catch (Throwable failure) { // a subscriber failing on its finish event
            failed = failure;
            goesOn = false;
        }
        if (!goesOn) {
            Throwable failure = failed;
            leave(generation, failure == null ? null : () -> fail(generation.ticket, failure));
        }
        return goesOn;
    }

    private void decode(List<Active> decoding) {
        decoding.sort(Comparator.comparingInt(generation -> generation.row));
        int[] rows = new int[decoding.size()];
        int[] tokens = new int[decoding.size()];
        float[][] logits = new float[decoding.size()][];
        for (int i = 0; i < rows.length; i++) {
            Active generation = decoding.get(i);
            rows[i] = generation.row;
            tokens[i] = generation.lastToken;
            logits[i] = generation.logits;
        }
        batchSize = rows.length;
        try {
            long started = System.nanoTime();
            decoder.decode(cache, rows, tokens, logits, batchRunOptions);
            pacer.decoded(System.nanoTime() - started);
        }
        catch (Throwable failure) { // the run is every row's: all of them fail, the engine goes on
            for (Active generation : decoding) {
                failInRun(generation, failure);
            }
            return;
        }
        long now = System.nanoTime();
        for (Active generation : decoding) {
            rowIds[generation.row][cache.length(generation.row) - 1] = generation.lastToken;
            sampled(generation, now);
        }
    }

    private void prefill(Active generation, int chunk) {
        int from = generation.fed;
        int to = Math.min(generation.prompt.length, from + chunk);
        try {
            long started = System.nanoTime();
            decoder.step(cache, generation.row, Arrays.copyOfRange(generation.prompt, from, to), generation.logits,
                    generation.ticket.runOptions);
            pacer.prefilled(to - from, System.nanoTime() - started);
        }
        catch (Throwable failure) {
            failInRun(generation, failure);
            return;
        }
        System.arraycopy(generation.prompt, from, rowIds[generation.row], from, to - from);
        generation.fed = to;
        if (to == generation.prompt.length) {
            sampled(generation, System.nanoTime());
        }
    }

    /** A run that included the generation failed: its stream ends with an error (unless it was cancelled). */
    private void failInRun(Active generation, Throwable failure) {
        Ticket ticket = generation.ticket;
        cache.truncate(generation.row, 0); // what the failed run wrote is not to be reused
        leave(generation, () -> {
            if (!(failure instanceof OrtException)) {
                fail(ticket, failure);
            }
            else if (!ticket.cancelled) {
                ticket.log(() -> logger.error("generation failed in ONNX Runtime", failure));
                ticket.sink.error(new EngineException("the model failed on this generation (ONNX Runtime); the server "
                        + "log has the details"));
            }
        });
    }

    /**
     * Samples the next token from the generation's fresh logits, emits it, and ends the generation when it
     * stops; any failure on the way (an {@link Error} from the sampler or a subscriber, for one) ends this
     * generation alone.
     */
    private void sampled(Active generation, long now) {
        try {
            sampleAndEmit(generation, now);
        }
        catch (Throwable failure) {
            leave(generation, () -> fail(generation.ticket, failure));
        }
    }

    private void sampleAndEmit(Active generation, long now) {
        Ticket ticket = generation.ticket;
        GenerationRequest request = ticket.request;
        boolean goesOn;
        int token;
        try {
            token = generation.sampler.sample(generation.logits, generation.history);
        }
        catch (RuntimeException ex) { // NaN logits, for one: this generation fails, the engine goes on
            leave(generation, () -> {
                ticket.log(() -> logger.error("sampling failed", ex));
                ticket.sink.error(new EngineException("sampling failed: " + ex.getMessage()));
            });
            return;
        }
        if (generation.generated == 0) {
            generation.firstTokenAt = now;
        }
        if (modelStopIds.contains(token) || request.stopTokenIds().contains(token)) {
            goesOn = finish(generation, FinishReason.STOP, now);
        }
        else {
            generation.history.append(token);
            generation.lastToken = token;
            ticket.sink.next(new GenerationEvent.Token(token, generation.generated, now - generation.startedAt,
                    request.logprobs() == GenerationRequest.NO_LOGPROBS ? null
                            : TokenLogprobs.of(generation.logits, token, request.logprobs())));
            generation.generated++;
            goesOn = generation.generated < request.maxTokens() || finish(generation, FinishReason.LENGTH, now);
        }
        if (!goesOn) {
            leave(generation);
        }
    }

    /** Takes the generation out of the batch, once. */
    private void leave(Active generation) {
        leave(generation, null);
    }

    /** Takes the generation out of the batch, once; {@code failing} ends its stream with an error after that. */
    private void leave(Active generation, @Nullable Runnable failing) {
        if (active.remove(generation)) {
            end(generation, failing);
        }
        else if (failing != null) {
            failing.run();
        }
    }

    /**
     * A generation has left the batch: its row keeps its KV for reuse, its admission is released, and only
     * then does its stream end, completed when it finished or failed by {@code failing}, so that a client
     * (or a balancer counting connections) that sends its next request the moment this one ends finds the
     * slot free.
     */
    private void end(Active generation, @Nullable Runnable failing) {
        rowBusy[generation.row] = false;
        rowLastUsed[generation.row] = ++uses;
        generation.close();
        boolean completes = generation.finished && failing == null;
        release(generation.ticket, completes);
        if (failing != null) {
            failing.run();
        }
        else if (completes) {
            try {
                generation.ticket.sink.complete();
            }
            catch (Throwable failure) { // a subscriber failing on the completion: as on any other event
                fail(generation.ticket, failure);
            }
            finally {
                lock.lock();
                try {
                    completing--;
                    drained.signalAll();
                }
                finally {
                    lock.unlock();
                }
            }
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

    /** Emits the generation's Finished event; its stream completes once it has left the batch ({@link #end}). */
    private static boolean finish(Active generation, FinishReason reason, long now) {
        Ticket ticket = generation.ticket;
        long ttft = generation.firstTokenAt == 0 ? 0 : generation.firstTokenAt - generation.startedAt;
        long decode = generation.firstTokenAt == 0 ? 0 : now - generation.firstTokenAt;
        generation.finished = true;
        ticket.sink.next(new GenerationEvent.Finished(reason, ticket.request.promptIds().length, generation.generated,
                ttft, decode, generation.startedAt - ticket.submittedAt));
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
        cache.close();
        batchRunOptions.close();
        decoder.close();
    }

    private static long mib(long bytes) {
        return bytes >> 20;
    }

    /** A request from submission to its end; cancel() may come from any thread. */
    private final class Ticket {

        final GenerationRequest request;

        final StopSignal stop;

        final FluxSink<GenerationEvent> sink;

        final OrtSession.RunOptions runOptions;

        final long submittedAt = System.nanoTime();

        final @Nullable Map<String, String> logContext = MDC.getCopyOfContextMap(); // the submitter's: its request id

        volatile boolean cancelled;

        private boolean runOptionsClosed; // guarded by this

        Ticket(GenerationRequest request, StopSignal stop, FluxSink<GenerationEvent> sink) {
            this.request = request;
            this.stop = stop;
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

        final int[] prompt;

        final int row; // its row of the KV cache

        final Sampler sampler;

        final TokenHistory history;

        final float[] logits; // [vocabulary], reused every step

        final long startedAt = System.nanoTime();

        long firstTokenAt;

        int fed; // prompt tokens in its row so far (reused or prefilled)

        int generated;

        int lastToken;

        boolean finished; // its Finished event is out; its stream completes when it leaves the batch

        Active(Ticket ticket, int[] prompt, int row, int reused, Sampler sampler, int vocabulary) {
            this.ticket = ticket;
            this.prompt = prompt;
            this.row = row;
            this.fed = reused;
            this.sampler = sampler;
            this.history = TokenHistory.of(prompt);
            this.logits = new float[vocabulary];
        }

        @Override
        public void close() {
            ticket.closeRunOptions();
        }
    }
}
