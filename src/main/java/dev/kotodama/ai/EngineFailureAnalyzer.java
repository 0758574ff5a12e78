package dev.kotodama.ai;

import dev.kotodama.engine.KvBudgetException;
import dev.kotodama.engine.ModelDirectoryException;
import dev.kotodama.engine.ProviderUnavailableException;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.diagnostics.FailureAnalyzer;

/**
 * Turns a model directory, provider or KV-cache budget that cannot be used at startup into Spring Boot's failure
 * report: the one-line reason, then what to do, instead of a stack trace.
 */
public class EngineFailureAnalyzer implements FailureAnalyzer {

    @Override
    public @Nullable FailureAnalysis analyze(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof ModelDirectoryException) {
                return new FailureAnalysis(cause.getMessage(), "Point kotodama.model-dir at a directory written by "
                        + "export/kotodama-export convert (see the README).", cause);
            }
            if (cause instanceof KvBudgetException) {
                return new FailureAnalysis(cause.getMessage(), "Raise kotodama.kv-cache-budget or lower "
                        + "kotodama.max-batch (the budget is split over that many sequences).", cause);
            }
            if (cause instanceof ProviderUnavailableException) {
                return new FailureAnalysis(cause.getMessage(), "Install the CUDA 12 and cuDNN 9 user libraries, or set "
                        + "kotodama.execution-provider to auto or cpu.", cause);
            }
        }
        return null;
    }
}
