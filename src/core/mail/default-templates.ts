import type { MailTemplateName, TemplatePart } from './templates';

/**
 * The built-in messages, as code so that the build copies no assets. An operator replaces any
 * part with a file in MAIL_TEMPLATES_DIR (docs/emails.md); the variables are those of templates.ts.
 */

const BODY_STYLE = 'margin:0;padding:24px;font-family:Helvetica,Arial,sans-serif;line-height:1.5;color:#1f2328';
const BUTTON_STYLE =
  'display:inline-block;padding:10px 18px;border-radius:6px;background:{{brandColor}};color:#ffffff;font-weight:bold;text-decoration:none';
const SMALL_STYLE = 'font-size:13px;color:#59636e';

/** A whole message: `body` is HTML, one line per paragraph. */
function page(body: string[], footer: string, action?: string): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"></head>',
    `<body style="${BODY_STYLE}">`,
    '<p style="font-size:18px;font-weight:bold">{{brandName}}</p>',
    ...body,
    ...(action
      ? [
          `<p><a href="{{actionUrl}}" style="${BUTTON_STYLE}">${action}</a></p>`,
          `<p style="${SMALL_STYLE}">Or open this link: <a href="{{actionUrl}}">{{actionUrl}}</a></p>`,
        ]
      : []),
    `<p style="${SMALL_STYLE}">${footer}</p>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

export const DEFAULT_TEMPLATES: Record<MailTemplateName, Record<TemplatePart, string>> = {
  invitation: {
    subject: 'You are invited to join {{orgName}}',
    text: `{{inviterName}} invited you to join {{orgName}} on {{brandName}}, with the role {{roleName}}.
{{#message}}

Their message: “{{message}}”
{{/message}}

Accept the invitation: {{actionUrl}}

The invitation works once and expires on {{expiresAt}} (it is valid for {{expiresIn}}).

If you did not expect this invitation, you can ignore this email.
`,
    html: page(
      [
        '<p>{{inviterName}} invited you to join <strong>{{orgName}}</strong> on {{brandName}}, with the role {{roleName}}.</p>',
        '{{#message}}<p>Their message: “{{message}}”</p>{{/message}}',
        '<p>The invitation works once and expires on <strong>{{expiresAt}}</strong> (it is valid for {{expiresIn}}).</p>',
      ],
      'If you did not expect this invitation, you can ignore this email.',
      'Accept the invitation',
    ),
  },
  'password-reset': {
    subject: 'Reset your {{brandName}} password',
    text: `Someone asked to reset the password of the {{brandName}} account {{recipientEmail}}{{#orgName}} ({{orgName}}){{/orgName}}.

If it was you, follow the link below to choose a new one. It works once, until {{expiresAt}} (within {{expiresIn}}), and signs you out everywhere.

Choose a new password: {{actionUrl}}

If you did not ask for this, ignore this email: your password stays as it is.
`,
    html: page(
      [
        '<p>Someone asked to reset the password of the {{brandName}} account {{recipientEmail}}{{#orgName}} ({{orgName}}){{/orgName}}.</p>',
        '<p>If it was you, follow the link below to choose a new one. It works once, until <strong>{{expiresAt}}</strong> (within {{expiresIn}}), and signs you out everywhere.</p>',
      ],
      'If you did not ask for this, ignore this email: your password stays as it is.',
      'Choose a new password',
    ),
  },
  'email-verification': {
    subject: 'Verify your {{brandName}} email address',
    text: `Someone asked to verify this address, {{recipientEmail}}, for a {{brandName}} account{{#orgName}} ({{orgName}}){{/orgName}}.

If it was you, follow the link below. It works once, until {{expiresAt}} (within {{expiresIn}}).

Verify this address: {{actionUrl}}

If you did not ask for this, ignore this email.
`,
    html: page(
      [
        '<p>Someone asked to verify this address, {{recipientEmail}}, for a {{brandName}} account{{#orgName}} ({{orgName}}){{/orgName}}.</p>',
        '<p>If it was you, follow the link below. It works once, until <strong>{{expiresAt}}</strong> (within {{expiresIn}}).</p>',
      ],
      'If you did not ask for this, ignore this email.',
      'Verify this address',
    ),
  },
  'email-change-confirmation': {
    subject: 'Confirm your new {{brandName}} email address',
    text: `Someone asked to make {{recipientEmail}} the email address of their {{brandName}} account{{#orgName}} ({{orgName}}){{/orgName}}.

If it was you, follow the link below to confirm it. It works once, until {{expiresAt}} (within {{expiresIn}}); until then the account keeps its current address.

Use this address: {{actionUrl}}

If you did not ask for this, ignore this email: nothing changes.
`,
    html: page(
      [
        '<p>Someone asked to make {{recipientEmail}} the email address of their {{brandName}} account{{#orgName}} ({{orgName}}){{/orgName}}.</p>',
        '<p>If it was you, follow the link below to confirm it. It works once, until <strong>{{expiresAt}}</strong> (within {{expiresIn}}); until then the account keeps its current address.</p>',
      ],
      'If you did not ask for this, ignore this email: nothing changes.',
      'Use this address',
    ),
  },
  'email-changed': {
    subject: 'Your {{brandName}} email address was changed',
    text: `On {{changedAt}}, the email address of your {{brandName}} account{{#orgName}} ({{orgName}}){{/orgName}} was changed from this address, {{recipientEmail}}, to {{newEmail}}.

If you did this, there is nothing to do. If not, someone else may control your account: tell your administrator at once.

This message went to your former address; mail about the account now goes to the new one.
`,
    html: page(
      [
        '<p>On {{changedAt}}, the email address of your {{brandName}} account{{#orgName}} ({{orgName}}){{/orgName}} was changed from this address, {{recipientEmail}}, to <strong>{{newEmail}}</strong>.</p>',
        '<p>If you did this, there is nothing to do. If not, someone else may control your account: tell your administrator at once.</p>',
      ],
      'This message went to your former address; mail about the account now goes to the new one.',
    ),
  },
};
