// The chat page: conversations in the sidebar, the selected one in the middle, a composer below.
// State lives in conversation objects (conversation.js) kept in localStorage (store.js); the DOM is
// drawn from them, and the streaming turn is redrawn once per animation frame.
import { Marked } from 'marked';
import DOMPurify from 'dompurify';
import { ApiError, streamChat } from './api.js';
import {
  addUserMessage,
  applyEvent,
  dropLastAssistant,
  editLastUserMessage,
  endAssistantMessage,
  isStreaming,
  newConversation,
  requestMessages,
  startAssistantMessage,
} from './conversation.js';
import { createEnterToSend } from './keys.js';
import { createMarkdownRenderer } from './markdown.js';
import { createStore, StorageFullError } from './store.js';

const root = document.getElementById('app');
const config = {
  modelId: root.dataset.modelId || null,
  demo: root.dataset.demo === 'true',
  apiKeyRequired: root.dataset.apiKeyRequired === 'true',
  defaultEffort: root.dataset.defaultEffort || 'medium',
};
const $ = (id) => document.getElementById(id);
const ui = {
  messages: $('messages'),
  empty: $('empty-state'),
  list: $('conversation-list'),
  sidebar: $('sidebar'),
  sidebarToggle: $('sidebar-toggle'),
  composer: $('composer'),
  input: $('composer-input'),
  send: $('send'),
  stop: $('stop'),
  effort: $('effort'),
  settings: $('settings'),
  settingsForm: $('settings-form'),
  settingsError: $('settings-error'),
  temperature: $('temperature'),
  topP: $('top-p'),
  maxTokens: $('max-tokens'),
  apiKey: $('api-key'),
};

const store = createStore(window.localStorage);
const renderMarkdown = createMarkdownRenderer({ Marked, purify: DOMPurify, hljs: window.hljs });
const SETTINGS_DEFAULTS = { effort: config.defaultEffort, temperature: '', topP: '', maxTokens: '', apiKey: '' };

let settings = store.settings(SETTINGS_DEFAULTS);
let conversation = store.get(store.currentId()) ?? newConversation(crypto.randomUUID(), Date.now());
const interrupted = conversation.messages.at(-1);
if (interrupted && isStreaming(interrupted)) {
  endAssistantMessage(interrupted, Date.now(), { stopped: true });
}
let running = null; // {controller, message, owner (its conversation), node, timings}
let frame = 0;

// ---------- drawing ----------

function drawConversationList() {
  ui.list.replaceChildren();
  for (const item of store.list()) {
    const li = document.createElement('li');
    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'conversation-link';
    open.textContent = item.title || 'Untitled';
    if (item.id === conversation.id) {
      open.setAttribute('aria-current', 'page');
    }
    open.addEventListener('click', () => selectConversation(item.id));
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'icon-button delete';
    remove.textContent = '×';
    remove.setAttribute('aria-label', `Delete “${item.title || 'Untitled'}”`);
    remove.addEventListener('click', () => deleteConversation(item.id));
    li.append(open, remove);
    ui.list.append(li);
  }
}

function drawMessages() {
  ui.messages.replaceChildren();
  ui.empty.hidden = conversation.messages.length > 0;
  ui.messages.append(ui.empty);
  const lastUser = conversation.messages.findLastIndex((m) => m.role === 'user');
  const lastIndex = conversation.messages.length - 1;
  conversation.messages.forEach((message, index) => {
    const node = message.role === 'user'
      ? userNode(message, index === lastUser)
      : assistantNode(message, index === lastIndex);
    ui.messages.append(node);
  });
  scrollToEnd(true);
}

function userNode(message, editable) {
  const article = element('article', 'message user');
  article.setAttribute('aria-label', 'You');
  const bubble = element('div', 'bubble');
  bubble.textContent = message.content;
  article.append(bubble);
  if (editable && !running) {
    const actions = element('div', 'actions');
    actions.append(button('Edit', 'Edit and resend this message', () => beginEdit(article, message)));
    article.append(actions);
  }
  return article;
}

function assistantNode(message, last) {
  const article = element('article', 'message assistant');
  article.setAttribute('aria-label', 'Assistant');
  const reasoning = element('details', 'reasoning');
  const summary = element('summary', 'reasoning-summary');
  const reasoningText = element('div', 'reasoning-text');
  reasoning.append(summary, reasoningText);
  summary.addEventListener('click', () => {
    reasoning.dataset.touched = 'true';
  });
  const answer = element('div', 'answer markdown');
  const tools = element('div', 'tool-calls');
  const problem = element('div', 'problem');
  problem.setAttribute('role', 'alert');
  const stats = element('p', 'stats');
  const actions = element('div', 'actions');
  article.append(reasoning, answer, tools, problem, stats, actions);
  article.parts = { reasoning, summary, reasoningText, answer, tools, problem, stats, actions };
  updateAssistantNode(article, message, last);
  return article;
}

/** Redraws one assistant message from its state; cheap enough to run every frame while it streams. */
function updateAssistantNode(article, message, last) {
  const p = article.parts;
  const streaming = running !== null && running.message === message;

  p.reasoning.hidden = !message.reasoning;
  if (message.reasoning) {
    if (p.reasoningText.textContent !== message.reasoning) {
      p.reasoningText.textContent = message.reasoning;
    }
    const thinking = message.reasoningMs === null;
    p.summary.textContent = thinking ? 'Thinking…' : `Thought for ${seconds(message.reasoningMs)} s`;
    if (thinking && streaming && !p.reasoning.dataset.touched) {
      p.reasoning.open = true;
    } else if (!thinking && !p.reasoning.dataset.collapsed) {
      p.reasoning.open = false;
      p.reasoning.dataset.collapsed = 'true';
    }
  }

  if (p.answer.dataset.source !== message.content) {
    p.answer.innerHTML = renderMarkdown(message.content);
    p.answer.dataset.source = message.content;
    addCopyButtons(p.answer);
  }
  if (streaming) {
    p.answer.setAttribute('aria-live', 'polite');
    p.answer.setAttribute('aria-busy', 'true');
  } else {
    p.answer.removeAttribute('aria-live');
    p.answer.removeAttribute('aria-busy');
  }

  p.tools.replaceChildren(...message.toolCalls.map((call) => {
    const block = element('pre', 'tool-call');
    block.textContent = `${call.name}(${call.arguments})`;
    return block;
  }));

  p.problem.replaceChildren();
  if (message.error) {
    const text = element('span', 'problem-text');
    text.textContent = message.error.message;
    p.problem.append(text);
    if (last && !running) {
      p.problem.append(button('Retry', 'Retry this answer', () => regenerate()));
    }
  }

  p.stats.textContent = statsLine(message, streaming);

  p.actions.replaceChildren();
  if (!streaming && message.content) {
    p.actions.append(button('Copy', 'Copy the answer', (event) => copy(message.content, event.currentTarget)));
  }
  if (!streaming && last && !running && !message.error) {
    p.actions.append(button('Regenerate', 'Generate this answer again', () => regenerate()));
  }
}

/** Seconds to one decimal below 10 s, whole above. */
function seconds(ms) {
  return ms < 10_000 ? (ms / 1000).toFixed(1) : String(Math.round(ms / 1000));
}

function statsLine(message, streaming) {
  const parts = [];
  if (message.stats) {
    parts.push(`TTFT ${Math.round(message.stats.ttftMs)} ms`);
    parts.push(`${message.stats.tokensPerSecond.toFixed(1)} tok/s`);
    parts.push(`${message.stats.completionTokens} tokens`);
  } else if (streaming && running.firstEventAt) {
    const seconds = (performance.now() - running.firstEventAt) / 1000;
    parts.push(`TTFT ${Math.round(running.firstEventAt - running.sentAt)} ms`);
    if (seconds > 0.2) {
      parts.push(`${(running.chunks / seconds).toFixed(1)} tok/s`);
    }
    parts.push(`${running.chunks} tokens`);
  }
  if (message.finishReason === 'stopped') {
    parts.push('stopped');
  } else if (message.finishReason === 'length') {
    parts.push('cut at the token limit');
  }
  return parts.join(' · ');
}

function addCopyButtons(container) {
  for (const pre of container.querySelectorAll('pre')) {
    const code = pre.querySelector('code');
    const copyButton = button('Copy', 'Copy this code', (event) => copy(code ? code.textContent : pre.textContent, event.currentTarget));
    copyButton.classList.add('copy-code');
    pre.prepend(copyButton);
  }
}

function scheduleStreamDraw() {
  if (frame) {
    return;
  }
  frame = requestAnimationFrame(() => {
    frame = 0;
    if (running) {
      const nearEnd = isNearEnd();
      updateAssistantNode(running.node, running.message, true);
      scrollToEnd(nearEnd);
    }
  });
}

function isNearEnd() {
  return ui.messages.scrollHeight - ui.messages.scrollTop - ui.messages.clientHeight < 80;
}

function scrollToEnd(when) {
  if (when) {
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }
}

function setRunning(value) {
  running = value;
  ui.send.hidden = value !== null;
  ui.stop.hidden = value === null;
  ui.send.disabled = !config.modelId;
}

// ---------- actions ----------

async function send(text) {
  const content = text.trim();
  if (!content || running || !config.modelId) {
    return;
  }
  addUserMessage(conversation, content);
  ui.input.value = '';
  resizeInput();
  await runTurn();
}

async function regenerate() {
  if (running) {
    return;
  }
  dropLastAssistant(conversation);
  await runTurn();
}

function beginEdit(article, message) {
  const form = element('form', 'edit');
  const label = element('label', 'visually-hidden');
  label.textContent = 'Edit your message';
  const area = element('textarea', 'edit-input');
  area.id = 'edit-input';
  label.htmlFor = area.id;
  area.value = message.content;
  area.lang = 'ja';
  const save = button('Send', 'Send the edited message', null);
  save.type = 'submit';
  save.classList.add('primary');
  const cancel = button('Cancel', 'Cancel the edit', () => drawMessages());
  const buttons = element('div', 'actions');
  buttons.append(cancel, save);
  form.append(label, area, buttons);
  const keys = createEnterToSend(() => form.requestSubmit());
  area.addEventListener('compositionstart', keys.compositionstart);
  area.addEventListener('compositionend', keys.compositionend);
  area.addEventListener('keydown', keys.keydown);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = area.value.trim();
    if (!text || running) {
      return;
    }
    editLastUserMessage(conversation, text);
    await runTurn();
  });
  article.replaceChildren(form);
  area.focus();
}

async function runTurn() {
  const owner = conversation; // the user may switch conversations while this one streams
  const message = startAssistantMessage(owner, Date.now());
  persist(owner);
  const controller = new AbortController();
  setRunning({ controller, message, owner, node: null, sentAt: performance.now(), firstEventAt: 0, chunks: 0 });
  drawMessages();
  drawConversationList();
  running.node = ui.messages.lastElementChild;
  const turn = running;
  try {
    await streamChat({ messages: requestMessages(owner), options: requestOptions() }, {
      signal: controller.signal,
      apiKey: settings.apiKey,
      onEvent: (name, data) => {
        if (name === 'reasoning' || name === 'answer') {
          turn.firstEventAt ||= performance.now();
          turn.chunks += 1;
        }
        applyEvent(message, name, data, Date.now());
        scheduleStreamDraw();
      },
    });
    if (isStreaming(message)) {
      endAssistantMessage(message, Date.now(), { error: { code: null, message: 'the stream ended before the answer was complete' } });
    }
  } catch (error) {
    if (controller.signal.aborted) {
      endAssistantMessage(message, Date.now(), { stopped: true });
    } else {
      endAssistantMessage(message, Date.now(), { error: describe(error) });
    }
  } finally {
    setRunning(null);
    persist(owner);
    drawMessages();
    drawConversationList();
    ui.input.focus();
  }
}

function describe(error) {
  if (error instanceof ApiError) {
    if (error.status === 429) {
      const wait = error.retryAfter ? ` Try again in ${error.retryAfter} s.` : '';
      return { code: error.code, message: `The server is busy: ${error.message}.${wait}` };
    }
    if (error.status === 401) {
      return { code: error.code, message: `${error.message} (Settings → API key).` };
    }
    return { code: error.code, message: error.message };
  }
  return { code: null, message: `The connection to the server failed: ${error.message}` };
}

function requestOptions() {
  const options = { reasoningEffort: settings.effort };
  if (settings.temperature !== '') {
    options.temperature = Number(settings.temperature);
  }
  if (settings.topP !== '') {
    options.topP = Number(settings.topP);
  }
  if (settings.maxTokens !== '') {
    options.maxTokens = Number(settings.maxTokens);
  }
  return options;
}

function stop() {
  if (running) {
    running.controller.abort();
  }
}

function selectConversation(id) {
  if (running) {
    stop();
  }
  const found = store.get(id);
  if (found) {
    conversation = found;
    store.setCurrentId(id);
    drawMessages();
    drawConversationList();
    closeSidebarOnNarrowScreens();
  }
}

function deleteConversation(id) {
  if (running && conversation.id === id) {
    stop();
  }
  store.remove(id);
  if (conversation.id === id) {
    conversation = newConversation(crypto.randomUUID(), Date.now());
    drawMessages();
  }
  drawConversationList();
}

function newChat() {
  if (running) {
    stop();
  }
  conversation = newConversation(crypto.randomUUID(), Date.now());
  drawMessages();
  drawConversationList();
  closeSidebarOnNarrowScreens();
  ui.input.focus();
}

function persist(which) {
  try {
    store.save(which, Date.now());
    store.setCurrentId(conversation.id);
  } catch (error) {
    if (error instanceof StorageFullError) {
      showBanner(error.message);
    } else {
      throw error;
    }
  }
}

async function copy(text, target) {
  try {
    await navigator.clipboard.writeText(text);
    flash(target, 'Copied');
  } catch {
    flash(target, 'Copy failed');
  }
}

function flash(target, text) {
  const before = target.textContent;
  target.textContent = text;
  setTimeout(() => {
    target.textContent = before;
  }, 1200);
}

function showBanner(text) {
  let banner = document.getElementById('storage-note');
  if (!banner) {
    banner = element('p', 'banner banner-error');
    banner.id = 'storage-note';
    banner.setAttribute('role', 'alert');
    ui.messages.before(banner);
  }
  banner.textContent = text;
}

// ---------- settings ----------

function openSettings() {
  ui.temperature.value = settings.temperature;
  ui.topP.value = settings.topP;
  ui.maxTokens.value = settings.maxTokens;
  if (ui.apiKey) {
    ui.apiKey.value = settings.apiKey;
  }
  ui.settingsError.textContent = '';
  ui.settings.showModal();
}

function saveSettings(event) {
  for (const input of [ui.temperature, ui.topP, ui.maxTokens]) {
    if (!input.checkValidity()) {
      event.preventDefault();
      ui.settingsError.textContent = `${input.labels[0].firstChild.textContent.trim()}: ${input.validationMessage}`;
      input.focus();
      return;
    }
  }
  settings = {
    ...settings,
    temperature: ui.temperature.value,
    topP: ui.topP.value,
    maxTokens: ui.maxTokens.value,
    apiKey: ui.apiKey ? ui.apiKey.value : settings.apiKey,
  };
  store.saveSettings(settings);
}

// ---------- small helpers ----------

function element(tag, className) {
  const node = document.createElement(tag);
  node.className = className;
  return node;
}

function button(text, label, onClick) {
  const node = element('button', 'button small');
  node.type = 'button';
  node.textContent = text;
  if (label && label !== text) {
    node.setAttribute('aria-label', label);
    node.title = label;
  }
  if (onClick) {
    node.addEventListener('click', onClick);
  }
  return node;
}

function resizeInput() {
  ui.input.style.height = 'auto';
  ui.input.style.height = `${Math.min(ui.input.scrollHeight, 240)}px`;
}

function closeSidebarOnNarrowScreens() {
  ui.sidebar.classList.remove('open');
  ui.sidebarToggle.setAttribute('aria-expanded', 'false');
}

// ---------- wiring ----------

const enter = createEnterToSend(() => ui.composer.requestSubmit());
ui.input.addEventListener('compositionstart', enter.compositionstart);
ui.input.addEventListener('compositionend', enter.compositionend);
ui.input.addEventListener('keydown', enter.keydown);
ui.input.addEventListener('input', resizeInput);
ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  send(ui.input.value);
});
ui.stop.addEventListener('click', stop);
$('new-chat').addEventListener('click', newChat);
$('open-settings').addEventListener('click', openSettings);
ui.settingsForm.addEventListener('submit', saveSettings);
$('reset-settings').addEventListener('click', () => {
  ui.temperature.value = '';
  ui.topP.value = '';
  ui.maxTokens.value = '';
});
ui.effort.value = settings.effort;
ui.effort.addEventListener('change', () => {
  settings = { ...settings, effort: ui.effort.value };
  store.saveSettings(settings);
});
ui.sidebarToggle.addEventListener('click', () => {
  const open = ui.sidebar.classList.toggle('open');
  ui.sidebarToggle.setAttribute('aria-expanded', String(open));
});
window.addEventListener('pagehide', () => {
  if (running) {
    endAssistantMessage(running.message, Date.now(), { stopped: true });
    persist(running.owner);
  }
});

if (!config.modelId) {
  ui.input.disabled = true;
}
setRunning(null);
drawMessages();
drawConversationList();
ui.input.focus();
document.documentElement.dataset.ready = 'true';
