/**
 * Kotodama: LLM-jp-4 models on ONNX Runtime behind a Spring AI {@code ChatModel}.
 */
@NullMarked
package dev.kotodama;

import org.jspecify.annotations.NullMarked;
