import assert from 'node:assert/strict';
import { formatDay, formatDayTime, formatTime, londonDate, londonFields, londonTime, londonToInstant } from '../../src/platform/time';

/*
 * Europe/London wall time, pure: every case gives the instant (and `now` where the year matters) and
 * checks what a person reads. In 2026 British Summer Time runs from 01:00 UTC on Sun 29 Mar to
 * 01:00 UTC on Sun 25 Oct.
 */

const HOUR = 3_600_000;

describe('time: Europe/London wall time, British style', function () {
  describe('londonToInstant', function () {
    const valid: { title: string; date: string; time: string; expect: string }[] = [
      { title: 'a winter afternoon (GMT)', date: '2026-12-04', time: '16:00', expect: '2026-12-04T16:00:00.000Z' },
      { title: 'a summer afternoon (BST)', date: '2026-06-05', time: '16:00', expect: '2026-06-05T15:00:00.000Z' },
      { title: 'midnight in winter', date: '2026-01-01', time: '00:00', expect: '2026-01-01T00:00:00.000Z' },
      { title: 'midnight in summer (the day before in UTC)', date: '2026-07-01', time: '00:00', expect: '2026-06-30T23:00:00.000Z' },
      { title: 'one minute before midnight in summer', date: '2026-07-01', time: '23:59', expect: '2026-07-01T22:59:00.000Z' },
      { title: '29 February in a leap year', date: '2028-02-29', time: '09:30', expect: '2028-02-29T09:30:00.000Z' },
      { title: 'the last day of the year', date: '2026-12-31', time: '23:59', expect: '2026-12-31T23:59:00.000Z' },
      // Spring: clocks go from 01:00 GMT to 02:00 BST.
      { title: 'just before the spring change', date: '2026-03-29', time: '00:59', expect: '2026-03-29T00:59:00.000Z' },
      { title: 'the start of the spring gap (01:00 does not exist, read as 02:00 BST)', date: '2026-03-29', time: '01:00', expect: '2026-03-29T01:00:00.000Z' },
      { title: 'inside the spring gap (01:30 does not exist, read as 02:30 BST)', date: '2026-03-29', time: '01:30', expect: '2026-03-29T01:30:00.000Z' },
      { title: 'just after the spring gap', date: '2026-03-29', time: '02:00', expect: '2026-03-29T01:00:00.000Z' },
      { title: 'later on the spring-change day', date: '2026-03-29', time: '16:00', expect: '2026-03-29T15:00:00.000Z' },
      // Autumn: clocks go from 02:00 BST back to 01:00 GMT, so 01:00–01:59 happens twice.
      { title: 'before the repeated autumn hour', date: '2026-10-25', time: '00:30', expect: '2026-10-24T23:30:00.000Z' },
      { title: 'the start of the repeated autumn hour (earlier one taken)', date: '2026-10-25', time: '01:00', expect: '2026-10-25T00:00:00.000Z' },
      { title: 'inside the repeated autumn hour (earlier one taken)', date: '2026-10-25', time: '01:30', expect: '2026-10-25T00:30:00.000Z' },
      { title: 'the end of the repeated autumn hour (earlier one taken)', date: '2026-10-25', time: '01:59', expect: '2026-10-25T00:59:00.000Z' },
      { title: 'just after the repeated autumn hour', date: '2026-10-25', time: '02:00', expect: '2026-10-25T02:00:00.000Z' },
      { title: 'later on the autumn-change day', date: '2026-10-25', time: '16:00', expect: '2026-10-25T16:00:00.000Z' },
    ];
    for (const v of valid) {
      it(`when given ${v.title}, ${v.date} ${v.time}, then it is ${v.expect}`, function () {
        assert.equal(londonToInstant(v.date, v.time)?.toISOString(), v.expect);
      });
    }

    const invalid: { title: string; date: string; time: string }[] = [
      { title: '31 February', date: '2026-02-31', time: '10:00' },
      { title: '30 February in a leap year', date: '2028-02-30', time: '10:00' },
      { title: '29 February in a common year', date: '2026-02-29', time: '10:00' },
      { title: '31 April', date: '2026-04-31', time: '10:00' },
      { title: 'day 0', date: '2026-05-00', time: '10:00' },
      { title: 'day 32', date: '2026-05-32', time: '10:00' },
      { title: 'month 13', date: '2026-13-01', time: '10:00' },
      { title: 'month 0', date: '2026-00-10', time: '10:00' },
      { title: '24:00', date: '2026-12-04', time: '24:00' },
      { title: '23:60', date: '2026-12-04', time: '23:60' },
      { title: 'a time without leading zero', date: '2026-12-04', time: '9:00' },
      { title: 'a 12-hour time', date: '2026-12-04', time: '4pm' },
      { title: 'a British-style date', date: '04/12/2026', time: '16:00' },
      { title: 'a date without leading zeros', date: '2026-1-5', time: '16:00' },
      { title: 'a full ISO timestamp as the date', date: '2026-12-04T16:00:00Z', time: '16:00' },
      { title: 'garbage', date: 'next Friday', time: 'teatime' },
      { title: 'empty strings', date: '', time: '' },
      { title: 'a date with spaces', date: ' 2026-12-04 ', time: '16:00' },
    ];
    for (const v of invalid) {
      it(`when given ${v.title} (${JSON.stringify(v.date)} ${JSON.stringify(v.time)}), then it is undefined`, function () {
        assert.equal(londonToInstant(v.date, v.time), undefined);
      });
    }

    it('when instants through 2026 are read back from their London date and time, then the same instant comes out (except the second repeated autumn hour)', function () {
      const secondAutumnHour = [Date.parse('2026-10-25T01:00:00Z'), Date.parse('2026-10-25T01:30:00Z')];
      const instants: number[] = [];
      // Every 7 hours all year (7 and 24 share no factor, so every hour of the day comes up), and
      // every half hour on the two days the clocks change.
      for (let t = Date.parse('2026-01-01T00:00:00Z'); t < Date.parse('2027-01-01T00:00:00Z'); t += 7 * HOUR) instants.push(t);
      for (const day of ['2026-03-28T22:00:00Z', '2026-10-24T22:00:00Z']) {
        for (let t = Date.parse(day); t < Date.parse(day) + 28 * HOUR; t += HOUR / 2) instants.push(t);
      }
      for (const t of instants) {
        const instant = new Date(t);
        const back = londonToInstant(londonDate(instant), londonTime(instant));
        if (secondAutumnHour.includes(t)) assert.equal(back?.getTime(), t - HOUR, `${instant.toISOString()} reads back as the earlier 01:xx`);
        else assert.equal(back?.getTime(), t, `${instant.toISOString()} read as ${londonDate(instant)} ${londonTime(instant)}`);
      }
    });
  });

  describe('formatDayTime', function () {
    const NOW = new Date('2026-11-02T09:00:00Z');
    const cases: { title: string; at: string; now?: string; expect: string }[] = [
      { title: 'a winter afternoon this year', at: '2026-12-04T16:00:00Z', expect: 'Fri 4 Dec, 16:00' },
      { title: 'a double-digit day', at: '2026-12-17T09:05:00Z', expect: 'Thu 17 Dec, 09:05' },
      { title: 'a summer afternoon (BST)', at: '2026-06-05T15:00:00Z', expect: 'Fri 5 Jun, 16:00' },
      { title: 'just after midnight in summer (the next London day)', at: '2026-07-01T23:30:00Z', expect: 'Thu 2 Jul, 00:30' },
      { title: 'midnight in winter', at: '2026-11-10T00:00:00Z', expect: 'Tue 10 Nov, 00:00' },
      { title: 'next year', at: '2027-01-04T16:00:00Z', expect: 'Mon 4 Jan 2027, 16:00' },
      { title: 'last year', at: '2025-12-05T16:00:00Z', expect: 'Fri 5 Dec 2025, 16:00' },
      { title: 'New Year in London when now is New Year\u2019s Eve', at: '2027-01-01T00:30:00Z', now: '2026-12-31T23:30:00Z', expect: 'Fri 1 Jan 2027, 00:30' },
      { title: 'the same London year as now, early on 1 January', at: '2027-03-01T12:00:00Z', now: '2027-01-01T00:10:00Z', expect: 'Mon 1 Mar, 12:00' },
    ];
    for (const c of cases) {
      it(`when the time is ${c.title}, then it reads "${c.expect}"`, function () {
        assert.equal(formatDayTime(new Date(c.at), new Date(c.now ?? NOW.toISOString())), c.expect);
      });
    }

    it('when no now is given, then the year is left out', function () {
      assert.equal(formatDayTime(new Date('2030-12-06T16:00:00Z')), 'Fri 6 Dec, 16:00');
    });

    it('when any day of the year is formatted, then it has the "Ddd D Mmm, HH:MM" shape with no stray commas', function () {
      for (let t = Date.parse('2026-01-01T12:00:00Z'); t < Date.parse('2027-01-01T00:00:00Z'); t += 24 * HOUR) {
        const s = formatDayTime(new Date(t), NOW);
        assert.match(s, /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2,3}, \d{2}:\d{2}$/, s);
      }
    });

    it('when the day and time are formatted separately, then they agree with formatDayTime', function () {
      const at = new Date('2026-06-05T15:00:00Z');
      assert.equal(formatDay(at, NOW), 'Fri 5 Jun');
      assert.equal(formatTime(at), '16:00');
      assert.equal(`${formatDay(at, NOW)}, ${formatTime(at)}`, formatDayTime(at, NOW));
    });
  });

  describe('londonDate and londonTime', function () {
    const cases: { title: string; at: string; date: string; time: string }[] = [
      { title: 'an hour before midnight UTC in summer (still the same London day)', at: '2026-07-01T22:59:59Z', date: '2026-07-01', time: '23:59' },
      { title: 'midnight UTC minus an hour in summer (London midnight)', at: '2026-07-01T23:00:00Z', date: '2026-07-02', time: '00:00' },
      { title: 'half an hour before midnight UTC in summer', at: '2026-07-01T23:30:00Z', date: '2026-07-02', time: '00:30' },
      { title: 'half an hour before midnight UTC in winter', at: '2026-12-01T23:30:00Z', date: '2026-12-01', time: '23:30' },
      { title: 'the last summer night of the month', at: '2026-08-31T23:15:00Z', date: '2026-09-01', time: '00:15' },
      { title: 'New Year\u2019s Eve in winter', at: '2026-12-31T23:59:00Z', date: '2026-12-31', time: '23:59' },
    ];
    for (const c of cases) {
      it(`when it is ${c.title}, then the London date is ${c.date} and the time ${c.time}`, function () {
        const at = new Date(c.at);
        assert.equal(londonDate(at), c.date);
        assert.equal(londonTime(at), c.time);
      });
    }

    it('when it is London midnight, then the hour is 0, never 24', function () {
      assert.equal(londonFields(new Date('2026-07-01T23:00:00Z')).hour, 0);
      assert.equal(londonFields(new Date('2026-12-02T00:00:00Z')).hour, 0);
    });

    it('when the clocks change, then the London time jumps at exactly 01:00 UTC, a second either side', function () {
      const at = (iso: string) => {
        const f = londonFields(new Date(iso));
        return `${f.year}-${f.month}-${f.day} ${f.hour}:${f.minute}:${f.second}`;
      };
      assert.equal(at('2026-03-29T00:59:59Z'), '2026-3-29 0:59:59', 'last second of GMT');
      assert.equal(at('2026-03-29T01:00:00Z'), '2026-3-29 2:0:0', 'first second of BST');
      assert.equal(at('2026-10-25T00:59:59Z'), '2026-10-25 1:59:59', 'last second of BST');
      assert.equal(at('2026-10-25T01:00:00Z'), '2026-10-25 1:0:0', 'first second of GMT: 01:00 again');
    });

    it('when every few minutes of five years is read, then the fields agree with Intl.DateTimeFormat for Europe/London', function () {
      const intl = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', hourCycle: 'h23' });
      let checked = 0;
      for (let ms = Date.UTC(2025, 0, 1); ms < Date.UTC(2030, 0, 1); ms += 17 * 60_000 + 7_000) {
        const parts = intl.formatToParts(new Date(ms));
        const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
        const want = [get('year'), get('month'), get('day'), get('hour'), get('minute'), get('second')];
        const f = londonFields(new Date(ms));
        assert.deepEqual([f.year, f.month, f.day, f.hour, f.minute, f.second], want, new Date(ms).toISOString());
        checked += 1;
      }
      assert.ok(checked > 150_000);
    });
  });
});
