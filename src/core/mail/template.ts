/** Escapes text for HTML element content and quoted attributes (the HTML part of every email, the account pages). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
