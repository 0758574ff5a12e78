// A conversation and what happens to it: messages added, a streamed turn applied event by event,
// regenerate and edit. Functions change the conversation they are given and return it.

const TITLE_LENGTH = 48;

/** A new, empty conversation. */
export function newConversation(id, now) {
  return { id, title: '', createdAt: now, updatedAt: now, messages: [] };
}

/** The first line of a message, short enough for the conversation list. */
export function titleOf(text) {
  const first = text.trim().split('\n')[0].trim();
  return first.length > TITLE_LENGTH ? `${first.slice(0, TITLE_LENGTH - 1)}…` : first;
}

export function addUserMessage(conversation, text) {
  conversation.messages.push({ role: 'user', content: text });
  if (!conversation.title) {
    conversation.title = titleOf(text);
  }
  return conversation;
}

/** Starts the assistant's turn; returns the message that the stream fills. */
export function startAssistantMessage(conversation, now) {
  const message = {
    role: 'assistant',
    content: '',
    reasoning: '',
    toolCalls: [],
    startedAt: now,
    reasoningMs: null,
    stats: null,
    finishReason: null,
    error: null,
  };
  conversation.messages.push(message);
  return message;
}

/**
 * One event of /api/chat applied to the assistant message it belongs to.
 * The reasoning time runs from the start of the turn to the first answer text (or to the end).
 */
export function applyEvent(message, name, data, now) {
  switch (name) {
    case 'reasoning':
      message.reasoning += data.text ?? '';
      break;
    case 'answer':
      closeReasoning(message, now);
      message.content += data.text ?? '';
      break;
    case 'tool_call':
      message.toolCalls.push({ id: data.id, name: data.name, arguments: data.arguments });
      break;
    case 'usage':
      message.stats = {
        promptTokens: data.promptTokens,
        completionTokens: data.completionTokens,
        ttftMs: data.ttftMs,
        tokensPerSecond: data.tokensPerSecond,
      };
      break;
    case 'done':
      closeReasoning(message, now);
      message.finishReason = data.finishReason;
      break;
    case 'error':
      closeReasoning(message, now);
      message.error = { code: data.code ?? null, message: data.message ?? 'the generation failed' };
      break;
    default:
      break;
  }
  return message;
}

/** Ends a turn that did not finish by itself: stopped by the user, or its request failed. */
export function endAssistantMessage(message, now, { stopped = false, error = null } = {}) {
  closeReasoning(message, now);
  if (stopped && !message.finishReason) {
    message.finishReason = 'stopped';
  }
  if (error) {
    message.error = error;
  }
  return message;
}

function closeReasoning(message, now) {
  if (message.reasoning && message.reasoningMs === null) {
    message.reasoningMs = Math.max(0, now - message.startedAt);
  }
}

/** Whether the assistant message is still receiving events. */
export function isStreaming(message) {
  return message.role === 'assistant' && message.finishReason === null && message.error === null;
}

/** Drops the last assistant turn so that it can be generated again. */
export function dropLastAssistant(conversation) {
  const last = conversation.messages.at(-1);
  if (last && last.role === 'assistant') {
    conversation.messages.pop();
  }
  return conversation;
}

/** Replaces the text of the last user message and drops what came after it. */
export function editLastUserMessage(conversation, text) {
  const index = conversation.messages.findLastIndex((m) => m.role === 'user');
  if (index < 0) {
    throw new Error('the conversation has no user message to edit');
  }
  conversation.messages.length = index + 1;
  conversation.messages[index].content = text;
  if (index === 0) {
    conversation.title = titleOf(text);
  }
  return conversation;
}

/**
 * The messages that /api/chat needs for the next turn: earlier answers as plain content (the chat
 * format drops earlier reasoning), without turns that produced nothing.
 */
export function requestMessages(conversation) {
  const out = [];
  for (const message of conversation.messages) {
    if (message.role === 'user') {
      out.push({ role: 'user', content: message.content });
    } else if (message.role === 'assistant' && message.content) {
      out.push({ role: 'assistant', content: message.content });
    }
  }
  return out;
}
