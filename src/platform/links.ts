import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Short-lived signed links the bot serves itself (e.g. a CSV download): the path and expiry are
 * signed with HMAC-SHA256, so a link cannot be changed to reach other data or to live longer.
 */
export class SignedLinks {
  private readonly secret: Buffer;

  constructor(
    private readonly baseUrl: () => string,
    secret: string | undefined,
  ) {
    this.secret = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
  }

  make(path: string, expiresAt: Date): string {
    const exp = String(Math.floor(expiresAt.getTime() / 1000));
    return `${this.baseUrl().replace(/\/$/, '')}${path}?exp=${exp}&sig=${this.sign(path, exp)}`;
  }

  verify(path: string, exp: string | undefined, sig: string | undefined, now: Date): boolean {
    if (!exp || !sig || !/^\d{1,12}$/.test(exp)) return false;
    if (Number(exp) * 1000 < now.getTime()) return false;
    const expected = Buffer.from(this.sign(path, exp));
    const given = Buffer.from(sig);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  private sign(path: string, exp: string): string {
    return createHmac('sha256', this.secret).update(`${path}\n${exp}`).digest('base64url');
  }
}
