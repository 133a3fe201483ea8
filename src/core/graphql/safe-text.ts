/** A UTF-16 surrogate without its partner: no character, and not valid UTF-8 once encoded. */
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Whether text can be stored and sent on as it is: PostgreSQL refuses NUL in text, and an unpaired
 * surrogate has no UTF-8 encoding (Node would silently replace it, so equal-looking inputs differ).
 */
export function isSafeText(text: string): boolean {
  return !text.includes('\0') && !UNPAIRED_SURROGATE.test(text);
}
