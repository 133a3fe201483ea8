import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../core/context/context';
import { queryRows } from '../../core/db/sql';
import { LoginArgs } from '../auth/auth.inputs';
import { UserEntity } from '../users/user.entity';
import {
  NO_PROBLEMS,
  field,
  formValue,
  hasProblems,
  invalidProperties,
  postForm,
  problemsAlert,
  statusMessage,
  unsafeFields,
  type Problems,
} from './forms';
import { html, type Html } from './html';
import { nextPath, signInPath, signOutPath } from './next-path';
import type { PageKit } from './page-kit';
import { formRefusal, inputProblems } from './service-errors';

const LABELS = { email: 'Email address', password: 'Password' };

/**
 * The small form that ends the page session; every signed-in state shows it. With `next`, the
 * person lands there afterwards (the invitation they were reading) instead of on the sign-in form.
 */
export function signOutForm(kit: PageKit, reply: FastifyReply, next: string | null = null): Html {
  return postForm({ action: signOutPath(next), csrf: kit.csrf(reply), submit: 'Sign out', secondary: true });
}

function sendForm(
  kit: PageKit,
  reply: FastifyReply,
  options: { status: number; next: string | null; email?: string; problems?: Problems; notice?: string },
) {
  const problems = options.problems ?? NO_PROBLEMS;
  const body = html`${options.notice ? statusMessage(options.notice) : null} ${problemsAlert(problems, LABELS)}
    ${postForm({
      action: signInPath(options.next),
      csrf: kit.csrf(reply),
      submit: 'Sign in',
      content: html`${field({ name: 'email', label: LABELS.email, type: 'email', autocomplete: 'email', value: options.email }, problems)}
      ${field({ name: 'password', label: LABELS.password, type: 'password', autocomplete: 'current-password' }, problems)}`,
    })}
    <p><a href="/password/forgot">Forgot your password?</a></p>`;
  return kit.send(reply, options.status, { page: 'sign-in', state: 'form', title: 'Sign in', body });
}

async function sendSignedIn(kit: PageKit, reply: FastifyReply, principal: Principal) {
  const { db } = kit.deps;
  const user = await db.getRepository(UserEntity).findOneBy({ id: principal.userId });
  const orgs = await queryRows<{ name: string }>(
    db.manager,
    `SELECT o.name FROM memberships m JOIN orgs o ON o.id = m.org_id
      WHERE m.user_id = $1 AND m.status = 'ACTIVE' ORDER BY lower(o.name) LIMIT 20`,
    [principal.userId],
  );
  const body = html`${statusMessage(html`You are signed in as <strong data-field="user-email">${user?.email ?? ''}</strong>.`)}
  ${
    orgs.length > 0
      ? html`<p>Your organizations:</p>
          <ul>
            ${orgs.map((org) => html`<li>${org.name}</li>`)}
          </ul>`
      : null
  }
  ${signOutForm(kit, reply)}`;
  return kit.send(reply, 200, { page: 'sign-in', state: 'signed-in', title: 'Signed in', body });
}

/** `/sign-in` and `/sign-out`: the page session other pages send people to and back from. */
export function signInRoutes(app: FastifyInstance, kit: PageKit): void {
  const { services, config } = kit.deps;

  app.get('/sign-in', async (request, reply) => {
    const principal = await kit.sessions.current(request, reply);
    const next = nextPath(request, config.publicUrl);
    if (!principal) return sendForm(kit, reply, { status: 200, next });
    if (next) return reply.redirect(next, 303);
    return sendSignedIn(kit, reply, principal);
  });

  app.post('/sign-in', async (request: FastifyRequest, reply) => {
    const next = nextPath(request, config.publicUrl);
    const values = { email: formValue(request.body, 'email'), password: formValue(request.body, 'password') };
    const problems = inputProblems(
      values,
      await invalidProperties(Object.assign(new LoginArgs(), values)),
      unsafeFields(values),
    );
    if (hasProblems(problems)) return sendForm(kit, reply, { status: 400, next, email: values.email, problems });
    const previous = await kit.sessions.current(request, reply);
    let signedIn;
    try {
      signedIn = await services.auth.login(values, kit.sessions.actor(request, null));
    } catch (error) {
      const refusal = formRefusal(error, []);
      if (!refusal) throw error;
      return sendForm(kit, reply, { ...refusal, next, email: values.email });
    }
    kit.sessions.start(request, reply, signedIn);
    // The pages hold one session: the one this sign-in replaces ends.
    if (previous) await kit.sessions.end(request, previous);
    return reply.redirect(next ?? '/sign-in', 303);
  });

  app.post('/sign-out', async (request, reply) => {
    const next = nextPath(request, config.publicUrl);
    await kit.sessions.signOut(request, reply);
    if (next) return reply.redirect(next, 303);
    return sendForm(kit, reply, { status: 200, next: null, notice: 'You are signed out.' });
  });
}
