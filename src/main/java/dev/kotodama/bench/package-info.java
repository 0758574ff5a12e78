/**
 * Benchmarks run as plain main classes against an exported model directory; no Spring context.
 */
@NullMarked
package dev.kotodama.bench;

import org.jspecify.annotations.NullMarked;
