/**
 * Token sampling: turns the logits of one decode step into the next token id, with the repetition
 * penalty, temperature, top-k, top-p and min-p of Hugging Face transformers' {@code generate}.
 */
@NullMarked
package dev.kotodama.engine.sampling;

import org.jspecify.annotations.NullMarked;
