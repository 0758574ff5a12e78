/**
 * Text to token ids and back: the model directory's tokenizer.json through DJL's binding of the Rust
 * {@code tokenizers} library, and streaming, UTF-8-safe detokenization in plain Java. User text is
 * encoded so that it can never become a special token. Knows nothing of HTTP or ONNX.
 */
@NullMarked
package dev.kotodama.tokenizer;

import org.jspecify.annotations.NullMarked;
