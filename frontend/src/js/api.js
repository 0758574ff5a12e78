// The page's client of POST /api/chat: typed events in, a refusal as an ApiError.
import { readSse } from './sse.js';

/** A request the server refused (4xx/5xx with an OpenAI-shaped error body) or a broken stream. */
export class ApiError extends Error {
  constructor(message, { status = 0, code = null, retryAfter = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/**
 * Streams one chat turn.
 * @param {{messages: object[], options?: object}} body
 * @param {{onEvent: (name: string, data: object) => void, signal?: AbortSignal, apiKey?: string,
 *          fetchImpl?: typeof fetch}} how
 */
export async function streamChat(body, { onEvent, signal, apiKey, fetchImpl = fetch }) {
  const headers = { 'Content-Type': 'application/json', Accept: 'text/event-stream' };
  if (apiKey) {
    headers.Authorization = `Bearer ${apiKey}`;
  }
  const response = await fetchImpl('/api/chat', { method: 'POST', headers, body: JSON.stringify(body), signal });
  if (!response.ok) {
    throw await refusal(response);
  }
  await readSse(response.body, ({ event, data }) => {
    let parsed;
    try {
      parsed = JSON.parse(data);
    } catch {
      throw new ApiError(`the server sent an unreadable ${event} event`);
    }
    onEvent(event, parsed);
  });
}

async function refusal(response) {
  let message = `the server answered ${response.status} ${response.statusText}`.trim();
  let code = null;
  try {
    const body = await response.json();
    if (body && body.error && typeof body.error.message === 'string') {
      message = body.error.message;
      code = body.error.code ?? null;
    }
  } catch {
    // not JSON: keep the status line
  }
  const retryAfter = Number.parseInt(response.headers.get('Retry-After') ?? '', 10);
  return new ApiError(message, {
    status: response.status,
    code,
    retryAfter: Number.isNaN(retryAfter) ? null : retryAfter,
  });
}
