package dev.kotodama.engine;

/** The ONNX Runtime execution provider a session is asked to run on. */
public enum ExecutionProvider {

    /** CUDA if its provider loads, otherwise the CPU provider with a warning. */
    AUTO,

    /** CUDA or nothing: fails when the CUDA provider does not load. */
    CUDA,

    /** The CPU provider; CUDA is never touched. */
    CPU
}
