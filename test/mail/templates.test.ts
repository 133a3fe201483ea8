import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { ConfigError, loadConfig } from '../../src/core/config/config';
import { MAIL_TEMPLATE_VARIABLES, MailTemplates } from '../../src/core/mail/templates';
import { createTestDatabase } from '../support/database';
import { createOrgAs, person, roleId, type Person } from '../support/fixtures';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';
import { gatewayEnv, REPO_ROOT, runScript } from '../support/spawn-gateway';
import { startTestGateway, TEST_SECRET_KEY, type TestGateway } from '../support/test-gateway';

/**
 * MAIL_TEMPLATES_DIR replaces single parts of single messages; the rest stay built in. Templates
 * are read and checked once, at start-up: a broken one refuses the start, naming the file.
 */

jest.setTimeout(120_000);

const INVITE = `mutation ($input: InviteInput!) { invite(input: $input) { id } }`;
const REQUEST_RESET = 'mutation ($email: String!) { requestPasswordReset(email: $email) }';
const HOSTILE_ORG = '<b>Acme & Co</b>';

let workspace: string;

/** A folder holding `files` (name → content). */
async function templatesDir(name: string, files: Record<string, string>): Promise<string> {
  const directory = path.join(workspace, name);
  await mkdir(directory);
  for (const [file, content] of Object.entries(files)) await writeFile(path.join(directory, file), content);
  return directory;
}

/** Loads the templates of `directory` as the gateway does, with the warnings it logs. */
async function load(directory: string, env: Record<string, string> = {}) {
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
  const config = loadConfig({ MAIL_TEMPLATES_DIR: directory, ...env });
  const templates = await MailTemplates.load(config, logger);
  return { templates, warnings: lines.map((line) => JSON.parse(line)) };
}

async function refusal(directory: string): Promise<ConfigError> {
  const error = await load(directory).then(
    () => new Error(`${directory} was accepted`),
    (refused: Error) => refused,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

beforeAll(async () => {
  workspace = await mkdtemp(path.join(tmpdir(), 'portcullis-mail-templates-'));
});

afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
});

describe('a gateway with a replaced invitation subject and text', () => {
  let sink: SmtpSink;
  let server: TestGateway;
  let owner: Person;
  let directory: string;

  beforeAll(async () => {
    directory = await templatesDir('replaced', {
      // An editor's final newline, and one in the middle that would start a header of its own.
      'invitation.subject.txt': '{{orgName}} on {{brandName}}\nX-Injected: yes\n',
      'invitation.text.txt':
        'Hello {{recipientEmail}}: {{inviterName}} invites you to {{orgName}}.\nJoin: {{actionUrl}}\n',
    });
    sink = await startSmtpSink();
    server = await startTestGateway({ SMTP_URL: sink.url, MAIL_TEMPLATES_DIR: directory, BRAND_NAME: 'Example ID' });
    owner = await person(server, 'owner');
  });

  afterAll(async () => {
    await server.close();
    await sink.close();
  });

  async function invitationFrom(orgName: string, email: string, message?: string) {
    const orgId = await createOrgAs(server, owner.token, orgName);
    const since = sink.messages.length;
    const invited = await server.graphql(
      INVITE,
      { input: { orgId, email, roleId: await roleId(server, orgId, 'viewer'), message } },
      { token: owner.token },
    );
    expect(invited.errors).toBeUndefined();
    return sink.waitFor(email, since);
  }

  it('renders the replaced parts without HTML escaping, and escapes the built-in HTML', async () => {
    const mail = await invitationFrom(HOSTILE_ORG, 'hostile@example.com', '<script>alert(1)</script>');
    expect(mail.subject).toBe(`${HOSTILE_ORG} on Example ID X-Injected: yes`);
    expect(mail.headers.has('x-injected')).toBe(false);
    expect(mail.text).toMatch(
      /^Hello hostile@example\.com: owner invites you to <b>Acme & Co<\/b>\.\nJoin: http:\/\/portcullis\.test\/invitations\/accept\?token=[\w-]+\n?$/,
    );

    // The HTML part is the built-in one, with every value escaped.
    expect(mail.html).toContain('Accept the invitation</a>');
    expect(mail.html).toContain('<strong>&#60;b&#62;Acme &#38; Co&#60;/b&#62;</strong>');
    expect(mail.html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(mail.html).not.toContain('<b>Acme');
    expect(mail.html).not.toContain('<script>');
  });

  it('keeps a subject on one line whatever the value holds', async () => {
    const mail = await invitationFrom('Evil\r\nBcc: victim@example.com', 'folded@example.com');
    expect(mail.subject).toBe('Evil Bcc: victim@example.com on Example ID X-Injected: yes');
    expect(mail.headers.has('bcc')).toBe(false);
    // What any mailer is given, not only nodemailer (which would fold the lines itself).
    const { templates } = await load(directory, { BRAND_NAME: 'Example ID' });
    const rendered = templates.render('invitation', {
      recipientEmail: 'folded@example.com',
      orgName: 'Evil\r\nBcc: victim@example.com',
      inviterName: 'owner',
      roleName: 'Viewer',
      message: null,
      actionUrl: 'http://portcullis.test/invitations/accept?token=t',
      expiresAt: 'then',
      expiresIn: '7 days',
    });
    expect(rendered.subject).toBe('Evil Bcc: victim@example.com on Example ID X-Injected: yes');
  });

  it('leaves the other messages built in, with the brand name', async () => {
    const since = sink.messages.length;
    expect((await server.graphql(REQUEST_RESET, { email: owner.email })).data?.requestPasswordReset).toBe(true);
    const mail = await sink.waitFor(owner.email, since);
    expect(mail.subject).toBe('Reset your Example ID password');
    expect(mail.text).toContain('Someone asked to reset the password of the Example ID account');
  });
});

describe('start-up checks', () => {
  it('logs files that name no message part, and variables a message does not have', async () => {
    const directory = await templatesDir('unknown', {
      'welcome.html': '<p>Hi</p>',
      'invitation.txt': 'Hi',
      '.gitkeep': '',
      'password-reset.subject.txt': 'Reset for {{orgname}}',
    });
    const { templates, warnings } = await load(directory);
    const files = warnings.find((line) => line.msg.includes('name no message part'));
    expect(files?.msg).toBe(
      'MAIL_TEMPLATES_DIR: ignoring files that name no message part: invitation.txt, welcome.html',
    );
    const variables = warnings.find((line) => line.msg.includes('variables their message does not have'));
    expect(variables?.variables).toEqual(['password-reset.subject.txt: {{orgname}}']);
    expect(
      templates.render('password-reset', {
        recipientEmail: 'a@example.com',
        orgName: 'Acme',
        actionUrl: 'x',
        expiresAt: 'y',
        expiresIn: 'z',
      }).subject,
    ).toBe('Reset for');
  });

  it('refuses a template mustache cannot parse, naming the file', async () => {
    const directory = await templatesDir('unclosed', { 'invitation.html': '<p>{{#orgName}}Join {{orgName}}</p>' });
    expect((await refusal(directory)).message).toContain(
      `MAIL_TEMPLATES_DIR: ${path.join(directory, 'invitation.html')}: Unclosed section "orgName"`,
    );
  });

  it('refuses an HTML part that would insert a value unescaped', async () => {
    const directory = await templatesDir('unescaped', {
      'email-changed.html': '<p>{{#orgName}}{{{.}}}{{/orgName}}</p>',
      'invitation.html': '<p>{{&inviterName}}</p>',
      // Text parts are never HTML: the same there is fine.
      'invitation.text.txt': '{{{inviterName}}}',
    });
    const { problems } = await refusal(directory);
    expect(problems).toEqual([
      `MAIL_TEMPLATES_DIR: ${path.join(directory, 'invitation.html')}: {{{inviterName}}} or {{&inviterName}} would insert inviterName unescaped: use {{inviterName}}`,
      `MAIL_TEMPLATES_DIR: ${path.join(directory, 'email-changed.html')}: {{{.}}} or {{&.}} would insert . unescaped: use {{.}}`,
    ]);
  });

  it('refuses a missing folder, a file over 256 KiB, a folder in place of a file and text that is not UTF-8', async () => {
    const missing = path.join(workspace, 'missing');
    expect((await refusal(missing)).message).toContain(`MAIL_TEMPLATES_DIR: cannot read the folder ${missing}: ENOENT`);

    const directory = await templatesDir('bad-files', {
      'invitation.html': 'x'.repeat(256 * 1024 + 1),
      'invitation.text.txt': 'x'.repeat(256 * 1024),
    });
    await writeFile(path.join(directory, 'email-changed.text.txt'), Buffer.from([0x66, 0xff, 0x66]));
    await mkdir(path.join(directory, 'password-reset.html'));
    const { problems } = await refusal(directory);
    expect(problems.sort()).toEqual(
      [
        `MAIL_TEMPLATES_DIR: ${path.join(directory, 'email-changed.text.txt')}: The encoded data was not valid for encoding utf-8`,
        `MAIL_TEMPLATES_DIR: ${path.join(directory, 'invitation.html')}: larger than 256 KiB`,
        `MAIL_TEMPLATES_DIR: ${path.join(directory, 'password-reset.html')}: not a regular file`,
      ].sort(),
    );
  });

  it('`portcullis serve` exits with the message naming the broken file', async () => {
    const directory = await templatesDir('serve', { 'invitation.subject.txt': 'Join {{#orgName}}' });
    const database = await createTestDatabase();
    try {
      const run = await runScript(
        'src/cli.ts',
        ['serve'],
        gatewayEnv({
          DATABASE_URL: database.url,
          SECRET_KEY: TEST_SECRET_KEY,
          MAIL_TEMPLATES_DIR: directory,
          PORT: '0',
          HOST: '127.0.0.1',
          LOG_LEVEL: 'silent',
        }),
        90_000,
      );
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        `MAIL_TEMPLATES_DIR: ${path.join(directory, 'invitation.subject.txt')}: Unclosed section "orgName"`,
      );
    } finally {
      await database.drop();
    }
  });
});

it("docs/emails.md lists every message's files and variables", async () => {
  const doc = await readFile(path.join(REPO_ROOT, 'docs', 'emails.md'), 'utf8');
  for (const shared of ['brandName', 'brandColor', 'recipientEmail']) expect(doc).toContain(`| \`${shared}\``);
  for (const [message, variables] of Object.entries(MAIL_TEMPLATE_VARIABLES)) {
    for (const part of ['subject.txt', 'text.txt', 'html']) expect(doc).toContain(`${message}.${part}`);
    const rows = doc.split('\n').filter((line) => line.startsWith(`| \`${message}\``));
    expect(rows.some((row) => variables.every((variable) => row.includes(`\`${variable}\``)))).toBe(true);
  }
});
