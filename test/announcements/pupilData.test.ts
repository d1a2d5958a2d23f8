import assert from 'node:assert/strict';
import { adaptiveCardsOf, cardText } from '../support/cardActions';
import { said, World } from './world';

/** An announcement whose title or text seems to name a pupil comes back with a warning before a draft is stored. */

describe('announcements: the pupil-data warning', function () {
  let w: World;

  beforeEach(async function () {
    w = await World.start();
  });

  afterEach(async function () {
    await w.stop();
  });

  it('when a coordinator announces a pupil by name, then the form comes back with the warning and no draft is stored; "Preview anyway" goes on to the preview', async function () {
    const me = w.sim.personalChat(w.cora);
    const typed = await w.sim.say(w.cora, me, 'announce reps: Well done to Year 6 pupil Amira Khan for winning the county poetry prize');
    const form = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0);
    assert.ok(form, said(typed));
    const text = cardText(adaptiveCardsOf(form.activity)[0]!);
    assert.match(text, /This may name a pupil: "Year 6 pupil Amira Khan" \(the text\)\. Together must not hold pupils' personal data, so nothing has been saved yet/);
    assert.match(said(await w.sim.say(w.cora, me, 'announcements')), /No announcements|nothing/i, 'no draft was stored');

    const anyway = await w.sim.click(w.cora, me, form, 'Preview anyway: it is not a pupil');
    assert.match(JSON.stringify(anyway.body), /All school reps/, 'the preview comes next');
  });
});
