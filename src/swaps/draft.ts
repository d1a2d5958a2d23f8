import type { Match, Offer, SwapRecord } from './model';
import type { SwapStep } from './rules';
import { SwapChange, type StoredMatch, type StoredOffer, type SwapStore } from './store';

/**
 * The swaps partition as one decision sees it: rows read with their ETags (on demand), changed in
 * memory by the rules, and written together: only the rows that changed, each under its ETag.
 */
export class Draft {
  private readonly offers = new Map<string, { etag: string; via: string; before: Offer; after: Offer } | null>();
  private readonly matches = new Map<string, { etag?: string; before?: Match; after: Match } | null>();
  private readonly created: { offer: Offer; via: string }[] = [];
  private readonly agreed: SwapRecord[] = [];
  private readonly cancelled: string[] = [];
  private history?: SwapRecord[];
  private live = false;
  /** Offers this change freed (or let expire) that have no match now, with why. */
  readonly unmatched = new Map<string, string>();

  constructor(private readonly store: SwapStore) {}

  private keepOffer(s: StoredOffer): void {
    if (!this.offers.get(s.offer.id)) this.offers.set(s.offer.id, { etag: s.etag, via: s.via, before: s.offer, after: { ...s.offer } });
  }

  private keepMatch(s: StoredMatch): void {
    if (!this.matches.get(s.match.id)) this.matches.set(s.match.id, { etag: s.etag, before: s.match, after: { ...s.match, answers: [...s.match.answers] as Match['answers'] } });
  }

  /** An offer as this change has it (read once; later changes by the rules are kept). */
  async offer(id: string): Promise<Offer | undefined> {
    if (!this.offers.has(id)) {
      const s = await this.store.offer(id);
      this.offers.set(id, null);
      if (s) this.keepOffer(s);
    }
    return this.offers.get(id)?.after ?? this.created.find((c) => c.offer.id === id)?.offer;
  }

  /** Where an offer was made (a conversation reference, JSON), to reach people from timers. */
  viaOf(id: string): string {
    return this.offers.get(id)?.via ?? this.created.find((c) => c.offer.id === id)?.via ?? '';
  }

  async match(id: string): Promise<Match | undefined> {
    if (!this.matches.has(id)) {
      const s = await this.store.match(id);
      this.matches.set(id, null);
      if (s) this.keepMatch(s);
    }
    return this.matches.get(id)?.after;
  }

  /** Every offer that is open or proposed now, as this change has them. */
  async liveOffers(): Promise<Offer[]> {
    if (!this.live) {
      for (const s of await this.store.liveOffers()) this.keepOffer(s);
      this.live = true;
    }
    const all = [...[...this.offers.values()].flatMap((o) => (o ? [o.after] : [])), ...this.created.map((c) => c.offer)];
    return all.filter((o) => o.status === 'open' || o.status === 'proposed');
  }

  async agreedSwaps(): Promise<SwapRecord[]> {
    this.history ??= await this.store.history();
    return [...this.history, ...this.agreed];
  }

  /** Every match an offer has been in (read with ETags, so a lapse can be written), and those this change made. */
  async matchesOf(offerId: string): Promise<Match[]> {
    for (const s of await this.store.matchesOf(offerId)) this.keepMatch(s);
    return [...this.matches.values()].flatMap((m) => (m && m.after.offerIds.includes(offerId) ? [m.after] : []));
  }

  setMatch(m: Match): void {
    const row = this.matches.get(m.id);
    if (row) row.after = m;
    else this.matches.set(m.id, { after: m });
  }

  createOffer(offer: Offer, via: string): void {
    this.created.push({ offer, via });
  }

  addHistory(record: SwapRecord): void {
    this.agreed.push(record);
  }

  cancelHistory(matchId: string): void {
    this.cancelled.push(matchId);
  }

  /** What changed, before and after, for effectsOf. */
  step(): SwapStep {
    const offers = [
      ...this.created.map((c) => ({ after: c.offer })),
      ...[...this.offers.values()].flatMap((o) => (o && changed(o.before, o.after) ? [{ before: o.before, after: o.after }] : [])),
    ];
    const matches = [...this.matches.values()].flatMap((m) => (m && (!m.before || changed(m.before, m.after)) ? [m.before ? { before: m.before, after: m.after } : { after: m.after }] : []));
    return { offers, matches, unmatched: this.unmatched };
  }

  /** The rows to write, each changed one under the ETag it was read with. */
  change(): SwapChange {
    const out = new SwapChange();
    for (const c of this.created) out.createOffer(c.offer, c.via);
    for (const o of this.offers.values()) if (o && changed(o.before, o.after)) out.updateOffer(o.after, o.etag);
    for (const m of this.matches.values()) {
      if (!m) continue;
      if (!m.before) out.createMatch(m.after);
      else if (changed(m.before, m.after)) out.updateMatch(m.after, m.etag!);
    }
    for (const r of this.agreed) out.addHistory(r);
    for (const id of this.cancelled) out.cancelHistory(id);
    return out;
  }
}

function changed<T>(before: T, after: T): boolean {
  return JSON.stringify(before) !== JSON.stringify(after);
}
