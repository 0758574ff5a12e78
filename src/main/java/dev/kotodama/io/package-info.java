/** Files that the application writes for itself: caches that appear whole or not at all. */
@NullMarked
package dev.kotodama.io;

import org.jspecify.annotations.NullMarked;
