/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

export type EmailContent = {
  subject: string;
  paragraphs: string[];
  action: { label: string; url: string };
  footer: string;
};

/** One plain-text and one HTML rendering of the same short message with a single call to action. */
export function renderEmail(content: EmailContent): { subject: string; text: string; html: string } {
  const text = [...content.paragraphs, `${content.action.label}: ${content.action.url}`, content.footer].join('\n\n');
  const html = [
    '<!doctype html><html><body style="font-family: sans-serif; line-height: 1.5">',
    ...content.paragraphs.map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`),
    `<p><a href="${escapeHtml(content.action.url)}">${escapeHtml(content.action.label)}</a></p>`,
    `<p style="color: #666; font-size: 12px">${escapeHtml(content.footer)}</p>`,
    '</body></html>',
  ].join('\n');
  return { subject: content.subject, text: `${text}\n`, html };
}
