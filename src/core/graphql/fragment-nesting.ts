import { Kind, parse, visit, type DocumentNode } from 'graphql';

/**
 * How deeply fragments may spread one another. graphql-js's own rules (NoFragmentCycles) and
 * graphql-armor's depth limit follow spreads by recursion, so a long enough chain of fragments
 * exhausts the stack inside validation. No real query comes close.
 */
export const MAX_FRAGMENT_NESTING = 50;

/** The longest chain of fragment spreads in the document, found without recursion (cycles end a chain). */
export function fragmentNesting(document: DocumentNode): number {
  const spreads = new Map<string, string[]>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.FRAGMENT_DEFINITION) continue;
    const names: string[] = [];
    visit(definition, { FragmentSpread: (node) => void names.push(node.name.value) });
    spreads.set(definition.name.value, names);
  }
  const depth = new Map<string, number>();
  const open = new Set<string>();
  for (const start of spreads.keys()) {
    if (depth.has(start)) continue;
    const stack: Array<{ name: string; next: number }> = [{ name: start, next: 0 }];
    open.add(start);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const children = spreads.get(top.name) ?? [];
      if (top.next < children.length) {
        const child = children[top.next++];
        if (spreads.has(child) && !depth.has(child) && !open.has(child)) {
          open.add(child);
          stack.push({ name: child, next: 0 });
        }
        continue;
      }
      const deepest = children.reduce((most, child) => Math.max(most, depth.get(child) ?? 0), 0);
      depth.set(top.name, deepest + 1);
      open.delete(top.name);
      stack.pop();
    }
  }
  return [...depth.values()].reduce((most, value) => Math.max(most, value), 0);
}

/**
 * Whether a query's fragments nest deeper than MAX_FRAGMENT_NESTING. Checked before Apollo sees
 * the request: an error thrown inside validation becomes a 500, and one merely reported there
 * does not stop the other rules of the same pass from walking the chain. Only a text with more
 * fragment definitions than the limit can exceed it, so ordinary queries are not parsed twice.
 */
export function nestsFragmentsTooDeeply(query: unknown): boolean {
  if (typeof query !== 'string') return false;
  const definitions = query.match(/\bfragment\b/g)?.length ?? 0;
  if (definitions <= MAX_FRAGMENT_NESTING) return false;
  try {
    return fragmentNesting(parse(query)) > MAX_FRAGMENT_NESTING;
  } catch {
    // Not a document: Apollo answers it as the syntax error it is.
    return false;
  }
}
