// Answers as markdown (marked), made safe (DOMPurify) and with highlighted code (highlight.js).
// The libraries are passed in: the page gives the browser's, the unit tests Node's.

const FORBIDDEN_TAGS = ['style', 'form', 'input', 'button', 'textarea', 'select', 'option'];

/**
 * @param {{Marked: Function, purify: {sanitize: Function, addHook: Function}, hljs?: object}} libraries
 * @returns {(markdown: string) => string} sanitized HTML
 */
export function createMarkdownRenderer({ Marked, purify, hljs }) {
  const marked = new Marked({ gfm: true, breaks: true });
  marked.use({
    renderer: {
      code({ text, lang }) {
        const language = (lang ?? '').trim().split(/\s+/)[0].toLowerCase();
        const known = hljs && language && hljs.getLanguage(language);
        const body = known ? hljs.highlight(text, { language, ignoreIllegals: true }).value : escapeHtml(text);
        const label = known ? language : 'text';
        return `<pre><code class="hljs language-${label}" data-language="${label}">${body}</code></pre>\n`;
      },
    },
  });
  purify.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName === 'A' && node.hasAttribute('href')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer nofollow');
    }
  });
  return (markdown) =>
    purify.sanitize(marked.parse(markdown, { async: false }), {
      USE_PROFILES: { html: true },
      FORBID_TAGS: FORBIDDEN_TAGS,
      ADD_ATTR: ['target'],
    });
}

/** Text as HTML text. */
export function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}
