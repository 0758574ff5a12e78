/**
 * The Spring side of Kotodama: configuration properties, the engine bean, and the Spring AI
 * {@code ChatModel} ({@link dev.kotodama.ai.KotodamaChatModel}) with its options and
 * auto-configuration, for this application and any other that has the jar on its classpath. Knows
 * nothing of HTTP.
 */
@NullMarked
package dev.kotodama.ai;

import org.jspecify.annotations.NullMarked;
