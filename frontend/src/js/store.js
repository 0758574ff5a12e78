// Conversations and settings kept in the browser (localStorage), one JSON document each.
// Unreadable stored data starts afresh instead of breaking the page.

const CONVERSATIONS = 'kotodama.conversations.v1';
const SETTINGS = 'kotodama.settings.v1';
const CURRENT = 'kotodama.current.v1';

export class StorageFullError extends Error {
  constructor() {
    super('the browser storage is full: delete some conversations to keep new ones');
    this.name = 'StorageFullError';
  }
}

/** @param {Storage} storage localStorage, or any object with getItem/setItem/removeItem */
export function createStore(storage) {
  function read(key, fallback) {
    try {
      const raw = storage.getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch {
      return fallback;
    }
  }

  function write(key, value) {
    try {
      storage.setItem(key, JSON.stringify(value));
    } catch (error) {
      if (error && (error.name === 'QuotaExceededError' || error.code === 22)) {
        throw new StorageFullError();
      }
      throw error;
    }
  }

  function all() {
    const stored = read(CONVERSATIONS, {});
    return stored && typeof stored === 'object' && !Array.isArray(stored) ? stored : {};
  }

  return {
    /** Conversations with at least one message, the most recent first: [{id, title, updatedAt}]. */
    list() {
      return Object.values(all())
        .filter((c) => c && Array.isArray(c.messages) && c.messages.length > 0)
        .sort((a, b) => b.updatedAt - a.updatedAt)
        .map(({ id, title, updatedAt }) => ({ id, title, updatedAt }));
    },
    get(id) {
      return all()[id] ?? null;
    },
    save(conversation, now) {
      const conversations = all();
      conversation.updatedAt = now;
      conversations[conversation.id] = conversation;
      write(CONVERSATIONS, conversations);
    },
    remove(id) {
      const conversations = all();
      delete conversations[id];
      write(CONVERSATIONS, conversations);
    },
    currentId() {
      return read(CURRENT, null);
    },
    setCurrentId(id) {
      write(CURRENT, id);
    },
    settings(defaults) {
      const stored = read(SETTINGS, {});
      return { ...defaults, ...(stored && typeof stored === 'object' ? stored : {}) };
    },
    saveSettings(settings) {
      write(SETTINGS, settings);
    },
  };
}
