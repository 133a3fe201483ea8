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
   * The link the message exists for. Outbox mode (no SMTP_URL: local development) logs it so a
   * newcomer can follow it; with SMTP it is never logged.
   */
  link?: string;
};

export interface Mailer {
  send(message: MailMessage): Promise<void>;
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
    await this.transport.sendMail({ from: this.from, to, subject, text, html });
  }
}

/**
 * With no SMTP server configured, each message is written as an .eml file to DATA_DIR/outbox and
 * its link is logged, so a newcomer can still accept invitations and reset passwords.
 */
class OutboxMailer implements Mailer {
  private readonly transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });

  constructor(
    private readonly directory: string,
    private readonly from: string,
    private readonly logger: Logger,
  ) {}

  async send({ to, subject, text, html, link }: MailMessage): Promise<void> {
    const info = await this.transport.sendMail({ from: this.from, to, subject, text, html });
    await mkdir(this.directory, { recursive: true });
    const file = path.join(this.directory, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID()}.eml`);
    await writeFile(file, info.message as Buffer, { mode: 0o600 });
    this.logger.info({ to, subject, file, link }, 'no SMTP_URL: message written to the outbox');
  }
}

export function createMailer(config: Config, logger: Logger): Mailer {
  if (config.mail.smtpUrl) return new SmtpMailer(config.mail.smtpUrl, config.mail.from);
  return new OutboxMailer(path.join(config.dataDir, 'outbox'), config.mail.from, logger);
}
