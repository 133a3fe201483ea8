import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Config } from '../config/config';
import type { Logger } from '../logger';

export type MailMessage = {
  to: string;
  subject: string;
  text: string;
  html: string;
  /**
   * The link the message exists for. The outbox logs it outside production, so a newcomer without
   * a mail server can follow it; it is never logged in production nor with SMTP.
   */
  link?: string;
};

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

/**
 * A message the SMTP server did not take. It keeps only what nodemailer's error says of the failure
 * (its code, the SMTP command and reply code), never its text: a refusal quotes the recipient
 * (`550 5.1.1 <alice@…>: user unknown`), and log lines carry no email addresses.
 */
export class MailNotSentError extends Error {
  constructor(failure: unknown) {
    const { code, command, responseCode } = (failure ?? {}) as {
      code?: unknown;
      command?: unknown;
      responseCode?: unknown;
    };
    const details = [code, command, responseCode].filter(
      (part) => typeof part === 'string' || typeof part === 'number',
    );
    super(`the SMTP server did not take the message${details.length > 0 ? ` (${details.join(' ')})` : ''}`);
    this.name = 'MailNotSentError';
  }
}

/** Delivers through the SMTP server of SMTP_URL. */
class SmtpMailer implements Mailer {
  private readonly transport: Transporter;

  constructor(
    url: string,
    private readonly from: string,
  ) {
    this.transport = nodemailer.createTransport(url);
  }

  async send({ to, subject, text, html }: MailMessage): Promise<void> {
    try {
      await this.transport.sendMail({ from: this.from, to, subject, text, html });
    } catch (error) {
      throw new MailNotSentError(error);
    }
  }
}

/**
 * MAIL_TRANSPORT=outbox writes each message as an .eml file to DATA_DIR/outbox instead of sending it.
 * Outside production the message's link is logged too, so a newcomer can accept invitations and
 * reset passwords without a mail server; in production a log line never carries it, as the link
 * holds a token that is as good as the account.
 */
class OutboxMailer implements Mailer {
  private readonly transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });

  constructor(
    private readonly directory: string,
    private readonly from: string,
    private readonly logger: Logger,
    private readonly logsLinks: boolean,
  ) {}

  async send({ to, subject, text, html, link }: MailMessage): Promise<void> {
    const info = await this.transport.sendMail({ from: this.from, to, subject, text, html });
    await mkdir(this.directory, { recursive: true });
    const file = path.join(this.directory, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID()}.eml`);
    await writeFile(file, info.message as Buffer, { mode: 0o600 });
    // Never the recipient: log lines carry no email addresses (the file names them).
    if (this.logsLinks && link) {
      this.logger.info({ subject, file, link }, 'outbox (local development only): message written, link logged');
    } else {
      this.logger.info({ subject, file }, 'outbox: message written');
    }
  }
}

/**
 * nodemailer reads `logger` and `debug` from SMTP_URL's query; together they print every message,
 * links and their tokens included, to stdout.
 */
function withoutTranscript(url: string): string {
  const parsed = new URL(url);
  parsed.searchParams.delete('logger');
  parsed.searchParams.delete('debug');
  return parsed.toString();
}

export function createMailer(config: Config, logger: Logger): Mailer {
  const production = config.env === 'production';
  if (config.mail.transport === 'smtp') {
    const url = production ? withoutTranscript(config.mail.smtpUrl) : config.mail.smtpUrl;
    return new SmtpMailer(url, config.mail.from);
  }
  const directory = path.join(config.dataDir, 'outbox');
  if (production) logger.warn({ directory }, 'MAIL_TRANSPORT=outbox: mail is written to files, not sent');
  return new OutboxMailer(directory, config.mail.from, logger, !production);
}
