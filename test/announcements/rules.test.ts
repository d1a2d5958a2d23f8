import assert from 'node:assert/strict';
import { afterAttempt, backoffMs, classify, instanceShare, KeyedPacer, Pacer, parseRetryAfter, type RetryPolicy } from '../../src/platform/outbox/delivery';
import type { Audience, Recipient } from '../../src/announcements/model';
import {
  checkDraft,
  conversationKey,
  failuresCsv,
  mayAnnounce,
  parseShortForm,
  personKey,
  keepCounts,
  recipientCounts,
  report,
  resolveAudience,
  sizeProblem,
  type AudienceSnapshot,
  type StoredRef,
} from '../../src/announcements/rules';

/** Pure announcement rules, table-driven: no I/O, no clock. */

const NOW = new Date('2026-11-25T10:00:00Z');
const schools = [
  { id: 'oak', name: 'Oakfield Academy' },
  { id: 'hill', name: 'Hillside Primary' },
  { id: 'stan', name: "St Anne's School" },
];
const endpoint = { serviceUrl: 'https://smba.trafficmanager.net/uk/', tenantId: 'tenant', botId: '28:bot' };
const channel = (id: string, label: string, teamId = id): StoredRef => ({ conversationId: id, conversationKind: 'channel', label, teamId, ...endpoint });
const chat = (id: string, label: string): StoredRef => ({ conversationId: id, conversationKind: 'personal', label, ...endpoint });

function snapshot(over: Partial<AudienceSnapshot> = {}): AudienceSnapshot {
  return {
    schools,
    reps: [
      { aadObjectId: 'ann', name: 'Ann Hughes', schoolId: 'oak' },
      { aadObjectId: 'ben', name: 'Ben Carter', schoolId: 'hill' },
      { aadObjectId: 'cat', name: 'Cat Nolan', schoolId: 'oak' },
    ],
    channels: [
      { role: { kind: 'announcements' }, conversationId: '19:news', label: 'Partnership › News' },
      { role: { kind: 'reps' }, conversationId: '19:reps', label: 'Partnership › Reps' },
      { role: { kind: 'school', schoolId: 'oak' }, conversationId: '19:oak', label: 'Oakfield › Staff' },
      { role: { kind: 'school', schoolId: 'hill' }, conversationId: '19:hill', label: 'Hillside › Staff' },
    ],
    chats: new Map([
      ['19:news', channel('19:news', 'Partnership › News', '19:team')],
      ['19:reps', channel('19:reps', 'Partnership › Reps', '19:team')],
      ['19:team', channel('19:team', 'Partnership › General', '19:team')],
      ['19:oak', channel('19:oak', 'Oakfield › Staff', '19:oakteam')],
      ['19:hill', channel('19:hill', 'Hillside › Staff', '19:hillteam')],
      ['19:group@thread.v2', { ...chat('19:group@thread.v2', 'Group chat'), conversationKind: 'groupChat' }],
    ]),
    personal: new Map([
      ['ann', chat('a:ann', 'Ann Hughes')],
      ['ben', chat('a:ben', 'Ben Carter')],
      ['tia', chat('a:tia', 'Tia Brown')],
    ]),
    schoolOf: new Map([
      ['ann', 'oak'],
      ['ben', 'hill'],
      ['tia', 'stan'],
    ]),
    via: endpoint,
    ...over,
  };
}

const keys = (rs: Recipient[]) => rs.map((r) => `${r.key === conversationKey((r.target as { conversationId?: string }).conversationId ?? '') ? (r.target as { conversationId: string }).conversationId : r.key}@${r.schoolId || '-'}`).sort();

describe('announcement rules', function () {
  describe('resolving an audience to recipient conversations', function () {
    const cases: { name: string; audience: Audience; snap?: Partial<AudienceSnapshot>; recipients: string[]; unreachable?: RegExp[] }[] = [
      { name: 'the announcements channel', audience: { kind: 'announcements' }, recipients: ['19:news@-'] },
      {
        name: "all partner schools' channels (a school without one is named)",
        audience: { kind: 'schools' },
        recipients: ['19:hill@hill', '19:oak@oak'],
        unreachable: [/St Anne's School has no school channel yet: type `channel school St Anne's School`/],
      },
      { name: 'all reps: stored chats, and a new chat for a rep without one', audience: { kind: 'reps' }, recipients: ['a:ann@oak', 'a:ben@hill', `${personKey('cat')}@oak`] },
      { name: "one school: its channel and its reps", audience: { kind: 'school', schoolId: 'oak' }, recipients: ['19:oak@oak', 'a:ann@oak', `${personKey('cat')}@oak`] },
      { name: 'one school with no channel and no reps', audience: { kind: 'school', schoolId: 'stan' }, recipients: [], unreachable: [/no school channel/, /has no reps/] },
      {
        name: 'everyone: every personal chat, every group chat, one channel per team (General first), schools from the directory',
        audience: { kind: 'everyone' },
        recipients: ['19:group@thread.v2@-', '19:hill@hill', '19:oak@oak', '19:team@-', 'a:ann@oak', 'a:ben@hill', 'a:tia@stan'],
      },
      { name: 'no announcements channel set', audience: { kind: 'announcements' }, snap: { channels: [] }, recipients: [], unreachable: [/no announcements channel yet/] },
      {
        name: 'a rep without a chat and no conversation to open one from',
        audience: { kind: 'reps' },
        snap: { via: undefined },
        recipients: ['a:ann@oak', 'a:ben@hill'],
        unreachable: [/Cat Nolan \(rep\) has no chat with Together yet/],
      },
      {
        name: 'a channel whose reference is gone',
        audience: { kind: 'school', schoolId: 'hill' },
        snap: { chats: new Map() },
        recipients: ['a:ben@hill'],
        unreachable: [/Hillside › Staff: I have no way to post there yet/],
      },
      {
        name: 'the same conversation reached twice counts once',
        audience: { kind: 'schools' },
        snap: { channels: [{ role: { kind: 'school', schoolId: 'oak' }, conversationId: '19:oak', label: 'x' }, { role: { kind: 'school', schoolId: 'hill' }, conversationId: '19:oak', label: 'x' }] },
        recipients: ['19:oak@oak'],
        unreachable: [/St Anne's/],
      },
    ];
    for (const c of cases) {
      it(`when the audience is ${c.name}, then it reaches exactly those conversations`, function () {
        const r = resolveAudience(c.audience, snapshot(c.snap));
        assert.deepEqual(keys(r.recipients), [...c.recipients].sort());
        assert.equal(r.unreachable.length, (c.unreachable ?? []).length, r.unreachable.join(' | '));
        for (const [i, re] of (c.unreachable ?? []).entries()) assert.match(r.unreachable[i]!, re);
      });
    }

    it('when recipients are counted for the preview, then channels and people are counted per school, schools in directory order, the rest last', function () {
      const r = resolveAudience({ kind: 'everyone' }, snapshot());
      assert.deepEqual(recipientCounts(r.recipients, schools), [
        { school: 'Oakfield Academy', channels: 1, people: 1, total: 2 },
        { school: 'Hillside Primary', channels: 1, people: 1, total: 2 },
        { school: "St Anne's School", channels: 0, people: 1, total: 1 },
        { school: 'Partnership-wide / no school', channels: 2, people: 0, total: 2 },
      ]);
    });
  });

  describe('who may announce', function () {
    const coordinator = { isCoordinator: true, isRep: false };
    const rep = { isCoordinator: false, isRep: true, schoolId: 'oak' };
    const teacher = { isCoordinator: false, isRep: false, schoolId: 'oak' };
    const cases: [string, typeof rep | typeof coordinator | typeof teacher, Audience | undefined, boolean, RegExp | true][] = [
      ['a coordinator, to everyone', coordinator, { kind: 'everyone' }, false, true],
      ['a rep, to their school, when allowed', rep, { kind: 'school', schoolId: 'oak' }, true, true],
      ['a rep, when not allowed', rep, { kind: 'school', schoolId: 'oak' }, false, /rep announcements on/],
      ['a rep, to another school', rep, { kind: 'school', schoolId: 'hill' }, true, /own school only/],
      ['a rep, to all reps', rep, { kind: 'reps' }, true, /own school only/],
      ['a rep without a school', { ...rep, schoolId: undefined }, undefined, true, /without a school/],
      ['a teacher', teacher, { kind: 'school', schoolId: 'oak' }, true, /Only coordinators/],
    ];
    for (const [name, person, audience, allowed, expected] of cases) {
      it(`when ${name} announces, then ${expected === true ? 'it is allowed' : 'it is refused'}`, function () {
        const r = mayAnnounce(person as never, audience, allowed);
        if (expected === true) assert.deepEqual(r, { ok: true });
        else {
          assert.equal(r.ok, false);
          assert.match((r as { message: string }).message, expected);
        }
      });
    }
  });

  describe('the compose form', function () {
    const ctx = { schools, person: { isCoordinator: true, isRep: false }, repsMayAnnounce: false, now: NOW };
    const ok = { text: 'Hello', audience: 'schools' };
    const cases: [string, Record<string, string>, string | RegExp | true][] = [
      ['a plain announcement', ok, true],
      ['empty text', { ...ok, text: '  ' }, /text: Write the announcement's text/],
      ['over 20,000 characters', { ...ok, text: 'x'.repeat(20_001) }, /text: That is too long/],
      ['an unknown audience', { ...ok, audience: 'aliens' }, /audience: I don't know that audience/],
      ['a school not in the directory', { ...ok, audience: 'school:gone' }, /audience: I don't know that audience/],
      ['no audience', { ...ok, audience: '' }, /audience: Choose who it goes to/],
      ['a title too long', { ...ok, title: 'T'.repeat(121) }, /title: Keep the title to 120/],
      ['an http link', { ...ok, link: 'http://x.example' }, /link: The link must be a full https/],
      ['an unknown importance', { ...ok, importance: 'meh' }, /importance: Choose normal/],
      ['a send time in the past', { ...ok, sendDate: '2026-11-25', sendTime: '09:59' }, /sendDate: That send time is in the past/],
      ['a send date without a time', { ...ok, sendDate: '2026-11-26' }, /sendTime: Choose the time/],
      ['a send time without a date', { ...ok, sendTime: '09:00' }, /sendDate: Choose the day/],
      ['a send time more than a year ahead', { ...ok, sendDate: '2028-01-01', sendTime: '09:00' }, /sendDate: Schedule it within the next year/],
      ['31 February', { ...ok, sendDate: '2027-02-31', sendTime: '09:00' }, /sendDate: Choose a real date/],
    ];
    for (const [name, values, expected] of cases) {
      it(`when the form has ${name}, then ${expected === true ? 'it is accepted' : `it says so by the field`}`, function () {
        const r = checkDraft(values, ctx);
        if (expected === true) assert.equal(r.ok, true);
        else {
          assert.equal(r.ok, false);
          const errors = (r as { errors: Record<string, string> }).errors;
          assert.match(Object.entries(errors).map(([k, v]) => `${k}: ${v}`).join('\n'), expected as RegExp);
        }
      });
    }

    it('when a send time is given in summer, then it is read as London time (BST)', function () {
      const r = checkDraft({ ...ok, sendDate: '2027-06-01', sendTime: '09:00', ack: 'true', importance: 'urgent' }, ctx);
      assert.ok(r.ok);
      assert.equal(r.draft.sendAt?.toISOString(), '2027-06-01T08:00:00.000Z');
      assert.equal(r.draft.askAck, true);
      assert.equal(r.draft.importance, 'urgent');
    });

    const sizes: [number, boolean][] = [
      [1_000, false],
      [28_000, false],
      [28_001, true],
      [60_000, true],
    ];
    for (const [bytes, tooBig] of sizes) {
      it(`when the finished message is ${bytes} bytes, then it is ${tooBig ? 'refused as too long for Teams' : 'accepted'}`, function () {
        const problem = sizeProblem(bytes);
        if (tooBig) assert.match(problem!, /too long for one Teams message/);
        else assert.equal(problem, undefined);
      });
    }
  });

  describe('the short form', function () {
    const cases: [string, Audience | RegExp, string][] = [
      ['reps: Deadline for STEM Week proposals is Friday', { kind: 'reps' }, 'Deadline for STEM Week proposals is Friday'],
      ['All Reps: hi', { kind: 'reps' }, 'hi'],
      ['schools: a: b', { kind: 'schools' }, 'a: b'],
      ['announcements: x', { kind: 'announcements' }, 'x'],
      ['everyone: x', { kind: 'everyone' }, 'x'],
      ['oakfield academy: Library closed', { kind: 'school', schoolId: 'oak' }, 'Library closed'],
      ['Narnia: x', /I don't know who "Narnia" is/, 'x'],
      ['no colon here', /before a colon/, 'no colon here'],
    ];
    for (const [input, expected, text] of cases) {
      it(`when someone types "announce ${input}", then ${expected instanceof RegExp ? 'it is explained' : `it goes to ${expected.kind}`}`, function () {
        const r = parseShortForm(input, schools);
        assert.equal(r.text, text);
        if (expected instanceof RegExp) {
          assert.equal(r.ok, false);
          assert.match((r as { message: string }).message, expected);
        } else {
          assert.ok(r.ok);
          assert.deepEqual(r.audience, expected);
        }
      });
    }
  });

  describe('the delivery report', function () {
    const rows = [
      { schoolId: 'oak', state: 'sent' as const },
      { schoolId: 'oak', state: 'sent' as const },
      { schoolId: 'hill', state: 'failed' as const },
      { schoolId: 'hill', state: 'pending' as const },
      { schoolId: '', state: 'cancelled' as const },
    ];
    const acks = [{ schoolId: 'oak' }, { schoolId: 'stan' }];
    it('when some are sent, failed, pending and cancelled, then each school counts its own and acknowledgements are per school', function () {
      const r = report(rows, acks, schools, 'sending');
      assert.deepEqual(r.rows, [
        { school: 'Oakfield Academy', sent: 2, pending: 0, failed: 0, notSent: 0, acks: 1 },
        { school: 'Hillside Primary', sent: 0, pending: 1, failed: 1, notSent: 0, acks: 0 },
        { school: "St Anne's School", sent: 0, pending: 0, failed: 0, notSent: 0, acks: 1 },
        { school: 'Partnership-wide / no school', sent: 0, pending: 0, failed: 0, notSent: 1, acks: 0 },
      ]);
      assert.deepEqual(r.total, { school: 'Total', sent: 2, pending: 1, failed: 1, notSent: 1, acks: 2 });
      assert.equal(r.finished, false);
    });
    it('when the announcement is cancelled, then those still pending count as not sent and the report is final', function () {
      const r = report(rows, [], schools, 'cancelled');
      assert.equal(r.total.pending, 0);
      assert.equal(r.total.notSent, 2);
      assert.equal(r.finished, true);
    });
    // Retention purges done rows in batches, a year on; what they counted is kept on the announcement's row.
    for (const [status, purgedAt] of [['sending', [0, 2]], ['done', [0, 1, 2]], ['cancelled', [4]], ['sending', [0, 1, 2, 3, 4]], ['done', []]] as const) {
      it(`when rows ${JSON.stringify(purgedAt)} of a ${status} announcement are purged in batches and their counts kept, then the report is the same as before`, function () {
        const purged = rows.filter((_, i) => (purgedAt as readonly number[]).includes(i));
        const left = rows.filter((_, i) => !(purgedAt as readonly number[]).includes(i));
        const kept = purged.reduce((k, row) => keepCounts(k, [row], status), {});
        assert.deepEqual(report(left, acks, schools, status, kept), report(rows, acks, schools, status));
      });
    }
    it('when failures are exported, then the CSV has a BOM, quotes every cell and neutralises formulas, full-width ones too', function () {
      const csv = failuresCsv([{ school: 'Oakfield, "North"', recipient: '=HYPERLINK("x")', kind: 'channel', status: '403', reason: '＠blocked; -1', attempts: 1, when: 'Wed 25 Nov, 10:00' }]);
      assert.equal(
        csv,
        '\uFEFF"School","Recipient","Kind","HTTP status","Reason","Attempts","Last tried (UK time)"\r\n"Oakfield, ""North""","\'=HYPERLINK(""x"")","channel","403","\'＠blocked; -1","1","Wed 25 Nov, 10:00"\r\n',
      );
    });
  });

  describe('retry classification and backoff', function () {
    const statuses: [number, 'ok' | 'retry' | 'permanent'][] = [
      [200, 'ok'],
      [201, 'ok'],
      [0, 'retry'],
      [408, 'retry'],
      [412, 'retry'],
      [429, 'retry'],
      [500, 'retry'],
      [502, 'retry'],
      [503, 'retry'],
      [504, 'retry'],
      [400, 'permanent'],
      [401, 'permanent'],
      [403, 'permanent'],
      [404, 'permanent'],
      [413, 'permanent'],
    ];
    for (const [status, verdict] of statuses) {
      it(`when Teams answers ${status}, then it is ${verdict}`, function () {
        assert.equal(classify(status), verdict);
      });
    }

    const retryAfter: [string | undefined, number | undefined][] = [
      [undefined, undefined],
      ['', undefined],
      ['2', 2000],
      ['0.5', 500],
      ['Wed, 25 Nov 2026 10:00:03 GMT', 3000],
      ['Wed, 25 Nov 2026 09:00:00 GMT', 0],
      ['soon', undefined],
      ['99999', 3_600_000],
    ];
    for (const [header, ms] of retryAfter) {
      it(`when Retry-After is ${JSON.stringify(header)}, then it means ${ms ?? 'nothing'} ms`, function () {
        assert.equal(parseRetryAfter(header, NOW.getTime()), ms);
      });
    }

    const policy: RetryPolicy = { baseMs: 1000, capMs: 60_000, maxAttempts: 8 };
    const backoffs: [number, number | undefined, number, number][] = [
      // attempt, Retry-After ms, random, expected ms
      [1, undefined, 0, 500],
      [1, undefined, 0.999, 1000],
      [2, undefined, 0.5, 1500],
      [3, undefined, 0, 2000],
      [7, undefined, 1, 60_000],
      [10, undefined, 0, 30_000],
      [1, 5000, 0, 5000],
      [1, 5000, 1, 6000],
      [5, 1000, 0, 8000],
    ];
    for (const [attempt, after, random, expected] of backoffs) {
      it(`when attempt ${attempt} failed${after !== undefined ? ` with Retry-After ${after} ms` : ''} (random ${random}), then the wait is ${expected} ms`, function () {
        assert.equal(backoffMs(attempt, after, random, policy), expected);
      });
    }

    const steps: [number, number, string][] = [
      [1, 200, 'sent'],
      [1, 403, 'failed'],
      [1, 404, 'failed'],
      [1, 429, 'retry'],
      [7, 502, 'retry'],
      [8, 502, 'poison'],
      [8, 404, 'failed'],
    ];
    for (const [attempt, status, kind] of steps) {
      it(`when attempt ${attempt} of 8 gets ${status}, then the item is ${kind}`, function () {
        assert.equal(afterAttempt(attempt, status, undefined, 0.5, policy).kind, kind);
      });
    }
  });

  describe('pacing', function () {
    /** Simulates callers that go as soon as the pacer allows, the process stalling at the given moments. */
    function run(rate: number, requests: number, stalls: [number, number][] = [], late = 0): number[] {
      const pacer = new Pacer(rate);
      const went: number[] = [];
      let now = 0;
      for (let i = 0; i < requests; i += 1) {
        now += pacer.waitMs(now) + late;
        for (const [from, to] of stalls) if (now >= from && now < to) now = to; // held up: goes late
        pacer.take(now);
        went.push(now);
      }
      return went;
    }
    /** The most requests Teams would count in any 1-second window, each arriving 0-25 ms after it left. */
    const maxArriving = (times: number[]) => {
      let seed = 7;
      const jitter = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 25;
      const arrivals = times.map((t) => t + jitter());
      return Math.max(...arrivals.map((t) => arrivals.filter((u) => u > t - 1000 && u <= t).length));
    };

    const cases: [string, number, number, [number, number][], number, number][] = [
      // name, rate, requests, stalls, timers firing late by (ms), at least this share of the rate on average
      ['50 a second, all at once', 50, 500, [], 0, 0.97],
      ['50 a second with timers firing 4 ms late', 50, 500, [], 4, 0.97],
      ['7 a second to one conversation', 7, 70, [], 0, 0.96],
      ['50 a second with the process stalled for 400 ms twice', 50, 500, [[1000, 1400], [3000, 3400]], 0, 0.9],
      ['16.7 a second (a third of 50: three instances)', 50 / 3, 200, [], 0, 0.9],
    ];
    for (const [name, rate, requests, stalls, late, share] of cases) {
      it(`when pacing ${name}, then no 1-second window at Teams holds more than ${Math.floor(rate)} and the average is at least ${share * 100} % of the rate`, function () {
        const went = run(rate, requests, stalls, late);
        assert.ok(maxArriving(went) <= Math.floor(rate), `max in a window: ${maxArriving(went)}`);
        const average = ((went.length - 1) / (went.at(-1)! - went[0]!)) * 1000;
        assert.ok(average >= share * rate, `average ${average.toFixed(2)}/s`);
        for (let i = 1; i < went.length; i += 1) assert.ok(went[i]! - went[i - 1]! >= 750 / rate - 1e-9, 'never a burst: at least 3/4 of the mean gap apart');
      });
    }

    it('when the pacer has been idle, then the next request goes at once (no burst saved up)', function () {
      const pacer = new Pacer(7);
      assert.equal(pacer.waitMs(0), 0);
      pacer.take(0);
      assert.equal(pacer.waitMs(10_000), 0);
      pacer.take(10_000);
      assert.ok(Math.abs(pacer.waitMs(10_000) - 750 / 7) < 1e-9);
    });

    it('when a conversation is held (Retry-After), then only that conversation waits', function () {
      const keyed = new KeyedPacer(7);
      keyed.get('a', 0).holdUntil(2000);
      assert.equal(keyed.get('a', 0).waitMs(0), 2000);
      assert.equal(keyed.get('b', 0).waitMs(0), 0);
    });

    it('when the rate changes (another instance starts), then the next gap uses the new rate', function () {
      const pacer = new Pacer(50);
      pacer.take(0);
      pacer.setRate(25);
      assert.equal(pacer.waitMs(0), 30);
    });

    const shares: [number, number, number][] = [
      [50, 1, 50],
      [50, 2, 25],
      [50, 3, 50 / 3],
      [50, 0, 50],
    ];
    for (const [rate, active, share] of shares) {
      it(`when ${active} instance(s) have work under an app rate of ${rate}/s, then each takes ${share.toFixed(2)}/s`, function () {
        assert.equal(instanceShare(rate, active), share);
      });
    }
  });
});
