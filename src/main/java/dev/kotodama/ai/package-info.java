/**
 * The Spring side of Kotodama: configuration properties, the engine bean, and (later) the Spring AI
 * {@code ChatModel}. Knows nothing of HTTP.
 */
@NullMarked
package dev.kotodama.ai;

import org.jspecify.annotations.NullMarked;
