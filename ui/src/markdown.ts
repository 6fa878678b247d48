/**
 * Markdown artifacts as HTML: marked (GitHub-flavoured) turns the text into HTML, then DOMPurify
 * removes whatever could run code or restyle the dashboard — scripts, event handlers,
 * `javascript:` URLs, forms, styles — because an artifact is text that a run's code wrote.
 * Links open in a new tab, without a handle on this one.
 */
import DOMPurify from "dompurify";
import { Marked } from "marked";

const marked = new Marked({ gfm: true, async: false });

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.hasAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

/** Safe HTML for a markdown text. */
export function markdownHtml(text: string): string {
  const html = marked.parse(text, { async: false });
  return DOMPurify.sanitize(html, {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ["style", "form", "button", "select", "textarea"],
    FORBID_ATTR: ["style"],
  });
}
