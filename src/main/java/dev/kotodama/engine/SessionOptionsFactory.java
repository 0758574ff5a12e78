package dev.kotodama.engine;

import java.nio.file.Path;
import java.util.Objects;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession.SessionOptions;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds ONNX Runtime session options for a requested {@link ExecutionProvider}.
 *
 * <p>{@code AUTO} tries the CUDA provider on device 0 and falls back to the CPU provider with one
 * warning; {@code CUDA} fails with a {@link ProviderUnavailableException}; {@code CPU} never loads the
 * CUDA provider, whose 580 MB library ONNX Runtime unpacks from its jar on the first attempt in a
 * process (about 4 s).
 */
public final class SessionOptionsFactory {

    private static final Logger logger = LoggerFactory.getLogger(SessionOptionsFactory.class);

    private static final String CUDA_REMEDY =
            "to use CUDA, put the CUDA 12 user libraries and cuDNN 9 on the library path (LD_LIBRARY_PATH);"
                    + " ONNX Runtime's error line just before this names the library it could not load";

    private static final int CUDA_DEVICE = 0;

    private final int intraOpThreads;

    private final OptLevel optimizationLevel;

    /** Options with ONNX Runtime's full graph optimization ({@link OptLevel#ALL_OPT}). */
    public SessionOptionsFactory(OrtEnvironment environment, int intraOpThreads) {
        this(environment, intraOpThreads, OptLevel.ALL_OPT);
    }

    /**
     * @param environment the environment the sessions will belong to; it must exist before CUDA is
     *     appended, since it registers the native logger that the CUDA provider's loading reports to
     *     (without it, loading fails with "Attempt to use DefaultLogger but none has been registered")
     * @param intraOpThreads threads for one operator, or 0 for ONNX Runtime's default (one per
     *     physical core)
     * @param optimizationLevel how far ONNX Runtime rewrites the graph when it loads it
     */
    public SessionOptionsFactory(OrtEnvironment environment, int intraOpThreads, OptLevel optimizationLevel) {
        Objects.requireNonNull(environment, "environment must not be null");
        if (intraOpThreads < 0) {
            throw new IllegalArgumentException(
                    "intraOpThreads must be 0 (ONNX Runtime's default) or more, got " + intraOpThreads);
        }
        this.intraOpThreads = intraOpThreads;
        this.optimizationLevel = Objects.requireNonNull(optimizationLevel, "optimizationLevel must not be null");
    }

    /** How far ONNX Runtime rewrites the graph at load. */
    public OptLevel optimizationLevel() {
        return optimizationLevel;
    }

    /**
     * Session options for the requested provider. The caller owns, and closes, the result.
     *
     * @throws ProviderUnavailableException when {@code CUDA} is requested and its provider does not load
     * @throws OrtException when ONNX Runtime rejects the thread count or optimization level, or cannot load
     *     the custom operator library
     */
    public ProviderSessionOptions create(ExecutionProvider requested) throws OrtException {
        return create(requested, null);
    }

    /**
     * Session options for the requested provider that also register {@code customOpLibrary}, a shared
     * library of custom operators that the graph uses ({@link ModelDirectory#customOpLibrary()}), unless it
     * is null. The options must stay open as long as a session made with them: ONNX Runtime's Java binding
     * unloads the library when they close.
     *
     * @throws OrtException as {@link #create(ExecutionProvider)}, and when the library does not load
     */
    public ProviderSessionOptions create(ExecutionProvider requested, @Nullable Path customOpLibrary)
            throws OrtException {
        Objects.requireNonNull(requested, "requested must not be null");
        return switch (requested) {
            case CPU -> cpu(customOpLibrary);
            case CUDA -> cuda(customOpLibrary);
            case AUTO -> cudaOrCpu(customOpLibrary);
        };
    }

    private ProviderSessionOptions cudaOrCpu(@Nullable Path customOpLibrary) throws OrtException {
        try {
            return cuda(customOpLibrary);
        }
        catch (ProviderUnavailableException ex) {
            logger.warn("CUDA execution provider unavailable, using the CPU provider: {}; {}",
                    ex.reason(), CUDA_REMEDY);
            return new ProviderSessionOptions(baseOptions(customOpLibrary),
                    new ProviderChoice(ExecutionProvider.CPU, ex.reason()));
        }
    }

    private ProviderSessionOptions cpu(@Nullable Path customOpLibrary) throws OrtException {
        return new ProviderSessionOptions(baseOptions(customOpLibrary), new ProviderChoice(ExecutionProvider.CPU, null));
    }

    private ProviderSessionOptions cuda(@Nullable Path customOpLibrary) throws OrtException {
        if (!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
            throw unavailable("this ONNX Runtime build has no CUDA provider");
        }
        SessionOptions options = baseOptions(customOpLibrary);
        try {
            options.addCUDA(CUDA_DEVICE);
        }
        catch (OrtException ex) {
            options.close();
            // ONNX Runtime names the missing library only in its own log line on stderr, not in ex.
            throw unavailable(OrtErrors.firstLine(ex.getMessage()));
        }
        return new ProviderSessionOptions(options, new ProviderChoice(ExecutionProvider.CUDA, null));
    }

    private SessionOptions baseOptions(@Nullable Path customOpLibrary) throws OrtException {
        SessionOptions options = new SessionOptions();
        try {
            options.setIntraOpNumThreads(intraOpThreads);
            options.setOptimizationLevel(optimizationLevel);
            if (customOpLibrary != null) {
                options.registerCustomOpLibrary(customOpLibrary.toString());
            }
            return options;
        }
        catch (OrtException ex) {
            options.close();
            throw ex;
        }
    }

    private static ProviderUnavailableException unavailable(String reason) {
        return new ProviderUnavailableException(ExecutionProvider.CUDA, reason, CUDA_REMEDY);
    }
}
