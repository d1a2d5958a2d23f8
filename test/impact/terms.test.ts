import assert from 'node:assert/strict';
import { said, World } from '../proposals/world';

/** The partnership's school terms through the wire: coordinators set them, everyone with a role sees them. */

describe('impact: school terms through the wire', function () {
  let w: World;

  beforeEach(async function () {
    w = await World.start({ repsChannel: false });
  });

  afterEach(async function () {
    await w.stop();
  });

  it('when a term set would overlap another or names an unknown term, then it is refused and the terms are as they were', async function () {
    assert.match(said(await w.sim.say(w.cora, w.staffRoom, 'term set spring 2027 4 Jan 2027 - 26 Mar 2027')), /Done/);
    assert.match(said(await w.sim.say(w.cora, w.staffRoom, 'term set summer 2027 20 Mar 2027 - 20 Jul 2027')), /That would overlap: Spring term 2027 \(4 Jan 2027 – 26 Mar 2027\) and Summer term 2027 \(20 Mar 2027 – 20 Jul 2027\)/);
    assert.match(said(await w.sim.say(w.cora, w.staffRoom, 'term set winter 2026 1 Dec 2026 - 20 Dec 2026')), /I don't know a term called "winter"/);
    const terms = said(await w.sim.say(w.cora, w.staffRoom, 'terms'));
    assert.match(terms, /Summer term 2027: 29 Mar 2027 – 31 Aug 2027 \(usual dates\)/);
    assert.match(terms, /Spring term 2027: 4 Jan 2027 – 26 Mar 2027\n/);
    assert.match(terms, /Set your schools’ dates with `term set/);
  });
});
