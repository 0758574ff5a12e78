// Server-sent events read from a fetch body (EventSource cannot POST), following the
// event-stream rules of the HTML standard: lines end in LF, CRLF or CR; "event:" names the event,
// "data:" lines join with LF, ":" starts a comment, and a blank line dispatches.

/**
 * A parser fed with decoded text in chunks of any size.
 * @param {(event: {event: string, data: string}) => void} onEvent called once per dispatched event
 * @returns {{push(text: string): void, end(): void}}
 */
export function createSseParser(onEvent) {
  let buffer = '';
  let eventName = '';
  let data = [];
  let pendingCr = false;

  function line(text) {
    if (text === '') {
      if (data.length > 0) {
        onEvent({ event: eventName || 'message', data: data.join('\n') });
      }
      eventName = '';
      data = [];
      return;
    }
    if (text.startsWith(':')) {
      return;
    }
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) {
      value = value.slice(1);
    }
    if (field === 'event') {
      eventName = value;
    } else if (field === 'data') {
      data.push(value);
    }
  }

  return {
    push(text) {
      let start = 0;
      if (pendingCr && text.startsWith('\n')) {
        start = 1;
      }
      pendingCr = false;
      buffer += text.slice(start);
      let end;
      while ((end = buffer.search(/[\r\n]/)) >= 0) {
        const current = buffer.slice(0, end);
        let next = end + 1;
        if (buffer[end] === '\r') {
          if (next === buffer.length) {
            pendingCr = true;
          } else if (buffer[next] === '\n') {
            next += 1;
          }
        }
        buffer = buffer.slice(next);
        line(current);
      }
    },
    // The standard discards an event that the stream ends before its blank line.
    end() {
      buffer = '';
      eventName = '';
      data = [];
    },
  };
}

/**
 * The events of a response body, decoded as UTF-8 across chunk boundaries.
 * @param {ReadableStream<Uint8Array>} body
 * @param {(event: {event: string, data: string}) => void} onEvent
 */
export async function readSse(body, onEvent) {
  const parser = createSseParser(onEvent);
  const decoder = new TextDecoder();
  const reader = body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      break;
    }
    parser.push(decoder.decode(value, { stream: true }));
  }
  parser.push(decoder.decode());
  parser.end();
}
