/**
 * The demo model embedded in the jar: what Kotodama serves when no model directory is configured.
 */
@NullMarked
package dev.kotodama.demo;

import org.jspecify.annotations.NullMarked;
