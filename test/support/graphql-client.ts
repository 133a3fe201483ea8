export type GraphQLResponse<T = any> = {
  status: number;
  headers: Headers;
  data: T | null | undefined;
  errors: Array<{ message: string; path?: string[]; extensions?: Record<string, any> }> | undefined;
};

export type RequestOptions = { token?: string; headers?: Record<string, string> };

/** A plain HTTP GraphQL client: what a frontend or backend service would send. */
export async function graphqlRequest<T = any>(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  options: RequestOptions = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T | null; errors?: GraphQLResponse['errors'] };
  return { status: response.status, headers: response.headers, data: body.data, errors: body.errors };
}

/** The `extensions.code` of the first error, or undefined when the request succeeded. */
export function errorCode(response: GraphQLResponse): string | undefined {
  return response.errors?.[0]?.extensions?.code;
}

/**
 * The value with every connection (an object with `edges`) replaced by the list of its nodes, for
 * tests about what a list holds rather than how it pages.
 */
export function withNodes<T = any>(value: T): T {
  if (Array.isArray(value)) return value.map(withNodes) as T;
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  if (Array.isArray(record.edges)) return record.edges.map((edge: { node: unknown }) => withNodes(edge.node)) as T;
  return Object.fromEntries(Object.entries(record).map(([key, field]) => [key, withNodes(field)])) as T;
}
