/**
 * The Harmony chat format of LLM-jp-4: a conversation rendered into the prompt exactly as the model
 * directory's chat_template.jinja renders it with transformers ({@link HarmonyRenderer}), and the
 * generated ids parsed, while they stream, into reasoning, preamble, answer and tool-call events
 * ({@link HarmonyParser}). Knows nothing of HTTP or ONNX.
 */
@NullMarked
package dev.kotodama.harmony;

import org.jspecify.annotations.NullMarked;
