/**
 * E-mail through the SMTP server a channel's URL names: `smtp://user:pass@host:587` talks plain
 * SMTP and upgrades with STARTTLS when the server offers it (nodemailer's default);
 * `smtps://host:465` is TLS from the first byte. One connection per message: notifications are
 * rare, and a pooled connection would outlive a changed channel. The timeouts are short so an
 * unreachable or silent server fails the attempt (which the outbox retries) instead of holding
 * the executor for nodemailer's default two minutes.
 */
import nodemailer from "nodemailer";

const TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000, dnsTimeout: 10_000 };

export interface EmailMessage {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
}

/** Sends `message`; what the server accepted and refused. Rejects with the SMTP error (without the URL's password). */
export async function sendEmail(url: string, message: EmailMessage): Promise<{ messageId: string; accepted: string[]; rejected: string[] }> {
  const transport = nodemailer.createTransport({ url, ...TIMEOUTS });
  try {
    const info = await transport.sendMail(message);
    const addresses = (list: unknown) => (Array.isArray(list) ? list.map((a) => (typeof a === "string" ? a : String((a as { address?: string }).address))) : []);
    return { messageId: String(info.messageId), accepted: addresses(info.accepted), rejected: addresses(info.rejected) };
  } finally {
    transport.close();
  }
}
