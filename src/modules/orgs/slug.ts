/**
 * A URL-safe slug from a display name: lower-case letters, digits and single hyphens; `fallback`
 * when nothing of the name survives (a name in a non-Latin script, say).
 */
export function slugify(name: string, fallback = 'org'): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/g, '');
  return slug || fallback;
}
