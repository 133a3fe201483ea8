import type { FastifyReply } from 'fastify';
import type { Principal } from '../../core/context/context';
import { InvitationKind } from '../invitations/invitation.entity';
import type { InvitationPreview } from '../invitations/invitation-preview';
import { NO_PROBLEMS, field, postForm, problemsAlert, statusMessage, type FieldName, type Problems } from './forms';
import { html, type Html } from './html';
import { signInPath } from './next-path';
import { withToken, type PageKit } from './page-kit';
import { signOutForm } from './sign-in.page';
import { dateTime } from './time';

export const INVITATION_PATH = '/invitations/accept';

const LABELS = {
  email: 'Email address',
  password: 'Password',
  firstName: 'First name',
  lastName: 'Last name',
} satisfies Record<FieldName, string>;

/** One look at a usable invitation: its token, what it offers, and who is signed in on the pages. */
export type Visit = {
  token: string;
  preview: InvitationPreview;
  principal: Principal | null;
  userEmail: string | null;
};

function details(preview: InvitationPreview): Html {
  return html`<dl class="details">
    <dt>Organization</dt>
    <dd data-field="org-name">${preview.orgName}</dd>
    ${
      preview.inviterName
        ? html`<dt>Invited by</dt>
            <dd data-field="inviter-name">${preview.inviterName}</dd>`
        : null
    }
    <dt>Role</dt>
    <dd data-field="role-name">${preview.roleName}</dd>
    ${
      preview.email
        ? html`<dt>Invited address</dt>
            <dd data-field="invited-email">${preview.email}</dd>`
        : null
    }
    <dt>Valid until</dt>
    <dd>${dateTime(preview.expiresAt)}</dd>
  </dl>`;
}

/**
 * Expired, used, revoked or unknown: why the link does not work, and what to do instead. A used link
 * answering a submission may be the second of a double click whose first one joined.
 */
export function sendUnusable(
  kit: PageKit,
  reply: FastifyReply,
  preview: InvitationPreview | null,
  { submitted = false } = {},
) {
  if (!preview) {
    return kit.send(reply, 404, {
      page: 'invitation',
      state: 'invalid',
      title: 'This invitation link does not work',
      body: html`<p>
        The link is not a valid invitation: it may be incomplete or mistyped. Open it again from the email, or ask the
        person who invited you for a new invitation.
      </p>`,
    });
  }
  const org = html`<strong data-field="org-name">${preview.orgName}</strong>`;
  const ask = html`<p>
    Ask
    ${preview.inviterName ? html`<span data-field="inviter-name">${preview.inviterName}</span> or another of ` : null}${org}'s
    admins for a new invitation.
  </p>`;
  const views = {
    expired: {
      title: 'This invitation has expired',
      body: html`<p>The invitation to join ${org} was valid until ${dateTime(preview.expiresAt)}.</p>
        ${ask}`,
    },
    used: {
      title: 'This invitation was already used',
      body: html`<p>
          The invitation to join ${org} has been accepted, and each invitation works only once.
          ${
            submitted
              ? html`If you just submitted this form, you may have joined already: <a href="/sign-in">sign in</a> to see
                  your organizations.`
              : html`If it was you, <a href="/sign-in">sign in</a>.`
          }
        </p>
        ${ask}`,
    },
    revoked: {
      title: 'This invitation was withdrawn',
      body: html`<p>An admin of ${org} withdrew this invitation.</p>
        ${ask}`,
    },
  } as const;
  const state = preview.state === 'usable' ? 'used' : preview.state;
  return kit.send(reply, 410, { page: 'invitation', state, ...views[state] });
}

function intro(preview: InvitationPreview): Html {
  return html`<p>
    ${preview.inviterName ?? 'You are'}${preview.inviterName ? ' invited you' : ' invited'} to join
    <strong>${preview.orgName}</strong> as ${preview.roleName}.
  </p>`;
}

/** The form (or explanation) a visitor gets: join, sign in and join, or create an account. */
export function sendOffer(
  kit: PageKit,
  reply: FastifyReply,
  visit: Visit,
  options: { status?: number; problems?: Problems; values?: Partial<Record<FieldName, string>> } = {},
) {
  const { preview, principal, token } = visit;
  const problems = options.problems ?? NO_PROBLEMS;
  const values = options.values ?? {};
  const action = withToken(INVITATION_PATH, token);
  const csrf = kit.csrf(reply);
  const alert = problemsAlert(problems, LABELS);
  const title = `Join ${preview.orgName}`;
  const view = (state: string, body: Html) =>
    kit.send(reply, options.status ?? 200, {
      page: 'invitation',
      state,
      title,
      body: html`${intro(preview)}${details(preview)}${alert}${body}`,
    });

  if (principal) {
    const email = visit.userEmail ?? '';
    if (preview.email && preview.email.toLowerCase() !== email.toLowerCase()) {
      return view(
        'join',
        html`<p>
            You are signed in as <strong data-field="user-email">${email}</strong>, but this invitation was sent to
            ${preview.email}. Sign out, then open the link again to accept it as ${preview.email}.
          </p>
          ${signOutForm(kit, reply, action)}`,
      );
    }
    return view(
      'join',
      html`<p>You are signed in as <strong data-field="user-email">${email}</strong>.</p>
        ${postForm({ action, csrf, submit: `Join ${preview.orgName} as ${email}` })}
        <p>Not you?</p>
        ${signOutForm(kit, reply, action)}`,
    );
  }

  if (preview.kind === InvitationKind.EMAIL && preview.accountExists && !preview.accountCanSignIn) {
    // Only the holder of the token, sent to that very address, learns this.
    return view(
      'account-unavailable',
      html`<p>
        An account exists for ${preview.email}. This account cannot sign in at the moment; ask
        <strong>${preview.orgName}</strong>'s admin${preview.inviterName ? html` (${preview.inviterName})` : null} to
        restore it, then open this link again.
      </p>`,
    );
  }

  if (preview.kind === InvitationKind.EMAIL && preview.accountExists) {
    return view(
      'sign-in-to-join',
      html`<p>An account already exists for ${preview.email}. Enter its password to sign in and join.</p>
        ${postForm({
          action,
          csrf,
          submit: 'Sign in and join',
          content: html`${field({ name: 'email', label: LABELS.email, type: 'email', autocomplete: 'email', value: preview.email, readonly: true }, problems)}
          ${field({ name: 'password', label: LABELS.password, type: 'password', autocomplete: 'current-password' }, problems)}`,
        })}
        <p><a href="/password/forgot">Forgot your password?</a></p>`,
    );
  }

  const emailField =
    preview.kind === InvitationKind.EMAIL
      ? field(
          {
            name: 'email',
            label: LABELS.email,
            type: 'email',
            autocomplete: 'email',
            value: preview.email,
            readonly: true,
          },
          problems,
        )
      : field(
          { name: 'email', label: LABELS.email, type: 'email', autocomplete: 'email', value: values.email },
          problems,
        );
  return view(
    'new-account',
    html`<p>Create your account to join.</p>
      ${postForm({
        action,
        csrf,
        submit: 'Create account and join',
        content: html`${emailField}
        ${field({ name: 'firstName', label: LABELS.firstName, type: 'text', autocomplete: 'given-name', value: values.firstName }, problems)}
        ${field({ name: 'lastName', label: LABELS.lastName, type: 'text', autocomplete: 'family-name', value: values.lastName }, problems)}
        ${field({ name: 'password', label: LABELS.password, type: 'password', autocomplete: 'new-password' }, problems)}`,
      })}
      ${preview.kind === InvitationKind.LINK ? html`<p><a href="${signInPath(action)}">I already have an account</a></p>` : null}`,
  );
}

/** Joined: by this request, or by an earlier submission of the same form (a double click). */
export function sendAccepted(kit: PageKit, reply: FastifyReply, preview: InvitationPreview, email: string | null) {
  return kit.send(reply, 200, {
    page: 'invitation',
    state: 'accepted',
    title: `You joined ${preview.orgName}`,
    body: html`${statusMessage(
        html`You joined <strong data-field="org-name">${preview.orgName}</strong> as ${preview.roleName}, and you are
          signed in as <strong data-field="user-email">${email ?? ''}</strong>.`,
      )}
      <p><a href="/sign-in">Your account</a></p>`,
  });
}
