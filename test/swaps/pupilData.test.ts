import assert from 'node:assert/strict';
import { cardText, invokeResponseCard } from '../support/cardActions';
import { MATHS, offer, startWorld, type World } from './world';

/** An offer whose notes seem to name a pupil comes back with a warning before anything is stored. */

describe('swaps: the pupil-data warning', function () {
  let w: World;

  beforeEach(async function () {
    w = await startWorld();
  });

  afterEach(async function () {
    await w.stop();
  });

  it('when a rep names a pupil in the notes, then the form comes back with the warning and no offer is stored; "Send anyway" stores it', async function () {
    const warned = await offer(w, w.ann, { ...MATHS, notes: 'Our trainee would shadow Year 8 pupil Leo Grant in maths.' });
    const form = invokeResponseCard(warned.body);
    assert.ok(form, 'the form comes back');
    assert.match(cardText(form), /This may name a pupil: "Year 8 pupil Leo Grant" \(the notes\)\. Together must not hold pupils' personal data, so nothing has been saved yet/);
    assert.equal((await w.store.currentOffers()).length, 0, 'no offer stored');
    const anyway = await w.sim.click(w.ann, w.chat(w.ann), form, 'Send anyway: it is not a pupil', { ...MATHS, notes: 'Our trainee would shadow Year 8 pupil Leo Grant in maths.' });
    assert.equal(anyway.status, 200);
    assert.equal((await w.store.currentOffers()).length, 1, 'stored once the rep said it is not a pupil');
  });

  it('when the notes talk only of year groups and subjects, then the offer is stored straight away', async function () {
    await offer(w, w.ann, { ...MATHS, notes: 'Year 8 and Year 9 maths classes; Physics lab on Fridays.' });
    assert.equal((await w.store.currentOffers()).length, 1);
  });
});
