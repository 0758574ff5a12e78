// Enter sends, Shift+Enter starts a new line, and the Enter that confirms an IME conversion
// (Japanese input) never sends. Browsers differ in how they report that Enter: during the
// composition (isComposing, keyCode 229), or, in Safari, as a keydown just after compositionend.

const AFTER_COMPOSITION_MS = 100;

/**
 * @param {() => void} send what Enter does
 * @returns {{compositionstart(): void, compositionend(event: Event): void, keydown(event: KeyboardEvent): boolean}}
 *   handlers for the text box; keydown returns whether it sent
 */
export function createEnterToSend(send) {
  let composing = false;
  let endedAt = -Infinity;
  return {
    compositionstart() {
      composing = true;
    },
    compositionend(event) {
      composing = false;
      endedAt = event.timeStamp;
    },
    keydown(event) {
      if (event.key !== 'Enter' || event.shiftKey || event.altKey || event.metaKey || event.ctrlKey) {
        return false;
      }
      if (composing || event.isComposing || event.keyCode === 229) {
        return false;
      }
      if (event.timeStamp - endedAt < AFTER_COMPOSITION_MS) {
        return false;
      }
      event.preventDefault();
      send();
      return true;
    },
  };
}
