/**
 * Keeps an instance's own requests to Teams within a rate (Teams allows a bot about 50 requests a
 * second per tenant, TEAMS_SEND_RATE): requests leave at least 1/rate s apart, in order, with shared
 * cards first — a card everyone is looking at goes before personal messages waiting behind it (but
 * never more than CARDS_IN_A_ROW of them while a message waits, so messages are never starved). A rush
 * of sign-ups therefore answers people at once and lets their confirmations follow at the pace Teams
 * takes, instead of sending a thousand messages in a second and being throttled (429) for it.
 */

export type Lane = 'card' | 'message';

const CARDS_IN_A_ROW = 3;

export class SendPacer {
  private readonly waiting: Record<Lane, (() => void)[]> = { card: [], message: [] };
  private readonly gapMs: number;
  private nextAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private cardsInARow = 0;

  constructor(
    perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.gapMs = 1000 / Math.max(perSecond, 0.001);
  }

  /** Resolves when a request in this lane may go. */
  turn(lane: Lane): Promise<void> {
    const t = this.now();
    if (!this.timer && this.waiting.card.length === 0 && this.waiting.message.length === 0 && t >= this.nextAt) {
      this.nextAt = t + this.gapMs;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiting[lane].push(resolve);
      this.arm();
    });
  }

  /** Requests waiting for their turn. */
  get backlog(): number {
    return this.waiting.card.length + this.waiting.message.length;
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.release(), Math.max(0, this.nextAt - this.now()));
  }

  private release(): void {
    this.timer = undefined;
    // A timer may fire a little early against the clock; granting then would go faster than the rate.
    if (this.now() < this.nextAt) {
      this.arm();
      return;
    }
    const messageDue = this.waiting.message.length > 0 && (this.waiting.card.length === 0 || this.cardsInARow >= CARDS_IN_A_ROW);
    const next = messageDue ? this.waiting.message.shift() : this.waiting.card.shift();
    if (!next) return;
    this.cardsInARow = messageDue ? 0 : this.cardsInARow + 1;
    this.nextAt = Math.max(this.now(), this.nextAt) + this.gapMs;
    next();
    if (this.backlog > 0) this.arm();
  }
}
