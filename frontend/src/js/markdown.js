// Answers as markdown (marked), made safe (DOMPurify) and with highlighted code (highlight.js).
// The libraries are passed in: the page gives the browser's, the unit tests Node's.

const FORBIDDEN_TAGS = ['style', 'form', 'input', 'button', 'textarea', 'select', 'option'];

// Inline styles could load images too (background: url(...)); the page's CSP refuses them anyway.
const FORBIDDEN_ATTRIBUTES = ['style'];

/**
 * Whether an image source stays on this origin: a data: image or a path, not a URL with a scheme or a
 * host (//host, and /\host, which browsers read the same). Browsers drop tabs and newlines from URLs and
 * leading spaces, so they are dropped here first.
 */
function isLocalImage(src) {
  const url = src.replace(/[\t\n\r]/g, '').trim();
  return /^data:image\//i.test(url) || !/^([a-z][a-z0-9+.-]*:|[\\/]{2})/i.test(url);
}

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
    // an answer must not make the browser fetch from another origin: that would tell it what the answer says
    node.removeAttribute('srcset');
    if (node.tagName === 'IMG' && node.hasAttribute('src') && !isLocalImage(node.getAttribute('src'))) {
      node.removeAttribute('src');
    }
  });
  return (markdown) =>
    purify.sanitize(marked.parse(markdown, { async: false }), {
      USE_PROFILES: { html: true },
      FORBID_TAGS: FORBIDDEN_TAGS,
      FORBID_ATTR: FORBIDDEN_ATTRIBUTES,
      ADD_ATTR: ['target'],
    });
}

/** Text as HTML text. */
export function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}
