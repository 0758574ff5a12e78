/**
 * The inference engine: ONNX Runtime sessions and the choice of execution provider. Knows nothing
 * of HTTP, Spring AI or Harmony.
 */
@NullMarked
package dev.kotodama.engine;

import org.jspecify.annotations.NullMarked;
