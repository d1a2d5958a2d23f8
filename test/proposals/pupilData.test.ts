import assert from 'node:assert/strict';
import { cardText, invokeResponseCard } from '../support/cardActions';
import { said, World } from './world';

/** A proposal whose free text seems to name a pupil comes back with a warning before anything is stored. */

describe('proposals: the pupil-data warning', function () {
  let w: World;

  beforeEach(async function () {
    w = await World.start();
  });

  afterEach(async function () {
    await w.stop();
  });

  it('when a rep writes a pupil\'s name in the summary, then the form comes back with the warning, their text kept, and nothing is stored', async function () {
    const warned = await w.propose(w.ann, { summary: 'Year 9 pupil Jamie Smith will lead the bridge-building challenge.' });
    const card = invokeResponseCard(warned.body);
    assert.ok(card, 'the form comes back');
    const text = cardText(card);
    assert.match(text, /This may name a pupil: "Year 9 pupil Jamie Smith" \(the summary\)\. Together must not hold pupils' personal data, so nothing has been saved yet/);
    assert.match(JSON.stringify(card), /Year 9 pupil Jamie Smith will lead/, 'the text typed is kept for editing');
    assert.equal(w.posted(w.reps).length, 0);
    assert.match(said(await w.sim.say(w.ann, w.chat(w.ann), 'proposals')), /No proposals yet/);
  });

  it('when the rep takes the name out, or says it is not a pupil, then the proposal is submitted', async function () {
    const warned = await w.propose(w.ann, { summary: 'Year 9 pupil Jamie Smith will lead the bridge-building challenge.' });
    const form = invokeResponseCard(warned.body)!;
    const anyway = await w.sim.click(w.ann, w.chat(w.ann), form, 'Submit anyway: it is not a pupil', {});
    assert.match(JSON.stringify(anyway.body) + said(anyway), /posted for approval|posted for the partner schools/);
    assert.equal(w.posted(w.reps).length, 1, 'the card is in the reps\' channel');
  });

  it('when the text only talks about year groups and schools, then there is no warning', async function () {
    const submitted = await w.propose(w.ann, { summary: 'Year 9 students from Riverside and Hillview build bridges together in Science week.' });
    assert.doesNotMatch(JSON.stringify(submitted.body), /This may name a pupil/);
    assert.equal(w.posted(w.reps).length, 1);
  });
});
