/** Files that the application writes for itself: caches that appear whole or not at all, and the digest that names them. */
@NullMarked
package dev.kotodama.io;

import org.jspecify.annotations.NullMarked;
