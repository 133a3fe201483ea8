import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import Mustache from 'mustache';
import { ConfigError, type Config } from '../config/config';
import type { Logger } from '../logger';
import { DEFAULT_TEMPLATES } from './default-templates';
import { escapeHtml } from './template';

/** What each message offers its templates, besides `brandName`, `brandColor` and `recipientEmail` (docs/emails.md). */
export const MAIL_TEMPLATE_VARIABLES = {
  invitation: ['orgName', 'inviterName', 'roleName', 'message', 'actionUrl', 'expiresAt', 'expiresIn'],
  'password-reset': ['orgName', 'actionUrl', 'expiresAt', 'expiresIn'],
  'email-verification': ['orgName', 'actionUrl', 'expiresAt', 'expiresIn'],
  'email-change-confirmation': ['orgName', 'actionUrl', 'expiresAt', 'expiresIn'],
  'email-changed': ['orgName', 'newEmail', 'changedAt'],
} as const;

const SHARED_VARIABLES = ['brandName', 'brandColor', 'recipientEmail'] as const;

export type MailTemplateName = keyof typeof MAIL_TEMPLATE_VARIABLES;
export type TemplatePart = 'subject' | 'text' | 'html';

/** A null or empty value is false for a `{{#name}}…{{/name}}` section, which then shows nothing. */
export type MailView<M extends MailTemplateName> = Record<
  (typeof MAIL_TEMPLATE_VARIABLES)[M][number] | 'recipientEmail',
  string | null
>;

export type RenderedMail = { subject: string; text: string; html: string };

const FILE_SUFFIXES: Record<TemplatePart, string> = { subject: '.subject.txt', text: '.text.txt', html: '.html' };
const MAX_TEMPLATE_BYTES = 256 * 1024;
const MESSAGES = Object.keys(MAIL_TEMPLATE_VARIABLES) as MailTemplateName[];
const PARTS = Object.keys(FILE_SUFFIXES) as TemplatePart[];

const fileName = (message: MailTemplateName, part: TemplatePart) => `${message}${FILE_SUFFIXES[part]}`;

// Only the HTML part is markup; escaping the others would mail "&#38;" to the reader.
const asText = { escape: String };
const asHtml = { escape: (value: unknown) => escapeHtml(String(value)) };

/** The five messages, each part either built in or read from MAIL_TEMPLATES_DIR once, at start-up. */
export class MailTemplates {
  private constructor(
    private readonly sources: Record<MailTemplateName, Record<TemplatePart, string>>,
    private readonly brand: { name: string; color: string },
  ) {}

  render<M extends MailTemplateName>(message: M, view: MailView<M>): RenderedMail {
    const source = this.sources[message];
    const values = { ...view, brandName: this.brand.name, brandColor: this.brand.color };
    return {
      // A line break in a header would let a variable (an org's name) add headers of its own.
      subject: Mustache.render(source.subject, values, undefined, asText)
        .replace(/[\r\n]+/g, ' ')
        .trim(),
      text: Mustache.render(source.text, values, undefined, asText),
      html: Mustache.render(source.html, values, undefined, asHtml),
    };
  }

  /**
   * The built-in templates, each part replaced by its file in `config.mail.templatesDir` if there
   * is one. A missing folder and an unreadable, oversized or invalid file refuse the start, naming
   * the file; files named for no part are only logged, as are variables a message does not have.
   */
  static async load(config: Config, logger: Logger): Promise<MailTemplates> {
    const directory = config.mail.templatesDir && path.resolve(config.mail.templatesDir);
    const sources = Object.fromEntries(
      MESSAGES.map((message) => [message, { ...DEFAULT_TEMPLATES[message] }]),
    ) as Record<MailTemplateName, Record<TemplatePart, string>>;
    const problems: string[] = [];
    const files = directory ? await readOverrides(directory, sources, problems, logger) : new Map<string, string>();
    const unknownVariables: string[] = [];
    for (const message of MESSAGES) {
      for (const part of PARTS) {
        const name = fileName(message, part);
        const review = reviewTemplate(message, part, sources[message][part]);
        if (review.problem)
          problems.push(`MAIL_TEMPLATES_DIR: ${files.get(name) ?? `built-in ${name}`}: ${review.problem}`);
        unknownVariables.push(...review.unknown.map((variable) => `${name}: {{${variable}}}`));
      }
    }
    if (problems.length > 0) throw new ConfigError(problems);
    if (unknownVariables.length > 0) {
      logger.warn(
        { directory, variables: unknownVariables },
        'MAIL_TEMPLATES_DIR: templates use variables their message does not have; these render empty',
      );
    }
    return new MailTemplates(sources, config.brand);
  }
}

/** Reads the files that replace parts into `sources`; returns each one's path by file name. */
async function readOverrides(
  directory: string,
  sources: Record<MailTemplateName, Record<TemplatePart, string>>,
  problems: string[],
  logger: Logger,
): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    problems.push(`MAIL_TEMPLATES_DIR: cannot read the folder ${directory}: ${reason(error)}`);
    return files;
  }
  const known = new Map(
    MESSAGES.flatMap((message) => PARTS.map((part) => [fileName(message, part), { message, part }] as const)),
  );
  // Dot files are a platform's, not the operator's (Kubernetes mounts `..data` beside the files).
  const unknown = names.filter((name) => !known.has(name) && !name.startsWith('.')).sort();
  if (unknown.length > 0) {
    logger.warn(
      { directory, files: unknown, expected: [...known.keys()] },
      `MAIL_TEMPLATES_DIR: ignoring files that name no message part: ${unknown.join(', ')}`,
    );
  }
  for (const name of names) {
    const target = known.get(name);
    if (!target) continue;
    const file = path.join(directory, name);
    files.set(name, file);
    try {
      // stat, not the directory entry: mounted templates are often symbolic links.
      const info = await stat(file);
      if (!info.isFile()) throw new Error('not a regular file');
      if (info.size > MAX_TEMPLATE_BYTES) throw new Error(`larger than ${MAX_TEMPLATE_BYTES / 1024} KiB`);
      sources[target.message][target.part] = new TextDecoder('utf-8', { fatal: true }).decode(await readFile(file));
    } catch (error) {
      problems.push(`MAIL_TEMPLATES_DIR: ${file}: ${reason(error)}`);
    }
  }
  return files;
}

type Review = { problem?: string; unknown: string[] };

/** Parses once (mustache keeps the parse), so a broken template fails the start, not a mail. */
function reviewTemplate(message: MailTemplateName, part: TemplatePart, source: string): Review {
  let tokens: Mustache.TemplateSpans;
  try {
    tokens = Mustache.parse(source);
  } catch (error) {
    return { problem: reason(error), unknown: [] };
  }
  const offered = new Set<string>([...SHARED_VARIABLES, ...MAIL_TEMPLATE_VARIABLES[message]]);
  const used = variablesOf(tokens);
  const unknown = [...new Set(used.map(({ name }) => name))].filter((name) => name !== '.' && !offered.has(name));
  // Values come from users (an org's name, an invitation's message), not from whoever wrote the template.
  const raw = part === 'html' ? used.find(({ unescaped }) => unescaped) : undefined;
  if (raw) {
    return {
      problem: `{{{${raw.name}}}} or {{&${raw.name}}} would insert ${raw.name} unescaped: use {{${raw.name}}}`,
      unknown,
    };
  }
  return { unknown };
}

function variablesOf(tokens: Mustache.TemplateSpans): Array<{ name: string; unescaped: boolean }> {
  return tokens.flatMap((token) => {
    const [type, value] = token;
    // `{{.}}` is the value of the section it is in; `{{a.b}}` looks up `a` first.
    const name = value === '.' ? '.' : String(value).split('.')[0];
    const own = ['name', '&', '#', '^'].includes(type) ? [{ name, unescaped: type === '&' }] : [];
    const children =
      (type === '#' || type === '^') && Array.isArray(token[4]) ? variablesOf(token[4] as Mustache.TemplateSpans) : [];
    return [...own, ...children];
  });
}

/** Not `instanceof Error`, which errors made in another realm (a VM context, as under jest) fail. */
function reason(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}
