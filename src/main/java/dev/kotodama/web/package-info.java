/**
 * The HTTP side: the chat page ({@code GET /}, its assets at {@code /assets/}), its typed SSE stream
 * ({@code POST /api/chat}), the prompt renderer for debugging ({@code POST /api/render}) and OpenAI's
 * chat-completions API ({@code /v1}), all on the Spring AI {@code ChatModel}, with errors in OpenAI's
 * JSON shape.
 */
@NullMarked
package dev.kotodama.web;

import org.jspecify.annotations.NullMarked;
