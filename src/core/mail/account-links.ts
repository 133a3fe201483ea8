/** The pages an emailed link opens, on the hosted account pages or the operator's own frontend. */
export type AccountPage = '/invitations/accept' | '/password/reset' | '/email/verify';

/**
 * `base` is ACCOUNT_LINKS_BASE_URL (no trailing slash). Appended, not resolved as a URL, so that
 * a base path (`https://app.example.com/account`) and a hash route (`https://app.example.com/#`) stay.
 */
export function accountLink(base: string, page: AccountPage, token: string): string {
  return `${base}${page}?token=${encodeURIComponent(token)}`;
}
