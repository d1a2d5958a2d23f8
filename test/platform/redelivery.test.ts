import assert from 'node:assert/strict';
import { AnnouncementStore } from '../../src/announcements/store';
import { INBOUND_TABLE } from '../../src/platform/inbound';
import { createLogger } from '../../src/platform/logging';
import { adaptiveCardsOf } from '../support/cardActions';
import type { SimUser } from '../support/simulator';
import { answered, said } from '../support/said';
import { World } from '../announcements/world';

/**
 * Teams delivers an activity again when the first delivery was not answered in time (its retry after
 * 15 s), and may deliver it to another instance: the same message or click is acted on once, and the
 * repeat is answered without running it again.
 */

describe('Activities Teams delivers twice', function () {
  let w: World;
  let ann: SimUser;

  beforeEach(async function () {
    w = await World.start();
    ann = w.sim.user('ann', 'Ann Hughes');
    await w.addSchool('Oakfield Academy');
    await w.makeRep(ann, 'Oakfield Academy');
  });

  afterEach(async function () {
    await w.stop();
  });

  async function drafts(): Promise<number> {
    return (await new AnnouncementStore(w.tables(), createLogger('silent')).recent(50)).length;
  }

  /** Previews Cora was sent in her chat with Together. */
  function previews(): number {
    return w.sim.messagesTo(w.sim.personalChat(w.cora)).filter((s) => s.method === 'POST' && adaptiveCardsOf(s.activity).length > 0).length;
  }

  it('when Teams delivers the same "announce reps: …" message again after the first was answered, then there is one draft and one preview, and the repeat gets an empty 200', async function () {
    const me = w.sim.personalChat(w.cora);
    const first = await w.sim.say(w.cora, me, 'announce reps: Deadline for STEM Week proposals is Friday', { id: '1765000000001' });
    const again = await w.sim.say(w.cora, me, 'announce reps: Deadline for STEM Week proposals is Friday', { id: '1765000000001' });
    assert.equal(first.status, 200);
    assert.equal(again.status, 200);
    assert.match(said(first), /All school reps/);
    assert.equal(again.sent.length, 0, `the repeat is not answered a second time: ${said(again)}`);
    assert.equal(previews(), 1);
    assert.equal(await drafts(), 1, 'one draft');

    const other = await w.sim.say(w.cora, me, 'announce reps: Deadline for STEM Week proposals is Friday', { id: '1765000000002' });
    assert.match(said(other), /All school reps/, 'a new message with the same words is a new message');
    assert.equal(await drafts(), 2);
  });

  it('when Teams delivers the same message twice at once, to two instances, then there is one draft and one preview', async function () {
    const me = w.sim.personalChat(w.cora);
    const other = await w.another();
    const both = await Promise.all([
      w.sim.say(w.cora, me, 'announce reps: Twice at once', { id: '1765000000003' }),
      (async () => {
        const before = w.sim.botEndpoint;
        w.sim.botEndpoint = `${other.url}/api/messages`;
        try {
          return await w.sim.say(w.cora, me, 'announce reps: Twice at once', { id: '1765000000003' });
        } finally {
          w.sim.botEndpoint = before;
        }
      })(),
    ]);
    for (const r of both) assert.equal(r.status, 200);
    assert.equal(previews(), 1, 'one preview');
    assert.equal(await drafts(), 1, 'one draft');
  });

  it('when Teams delivers the same button press twice, at once and again later, then every delivery gets the same answer and the press is acted on once', async function () {
    const me = w.sim.personalChat(w.cora);
    const typed = await w.sim.say(w.cora, me, 'announce reps: Pressed twice');
    const previewSent = typed.sent.find((s) => adaptiveCardsOf(s.activity).length > 0)!;
    const id = 'f:1111111111111111111';
    const [a, b] = await Promise.all([
      w.sim.click(w.cora, me, previewSent, 'Edit', {}, { id }),
      w.sim.click(w.cora, me, previewSent, 'Edit', {}, { id }),
    ]);
    const later = await w.sim.click(w.cora, me, previewSent, 'Edit', {}, { id });
    assert.ok(answered(a).length > 0, 'the press is answered');
    assert.equal(answered(b), answered(a), 'the concurrent repeat gets the same answer');
    assert.equal(answered(later), answered(a), 'the later repeat gets the same answer');
  });

  it('when a delivery is days old, then the scheduler has cleared its record and the same id is taken as new', async function () {
    const me = w.sim.personalChat(w.cora);
    await w.sim.say(w.cora, me, 'announce reps: Long ago', { id: '1765000000009' });
    const inbound = w.tables().client(INBOUND_TABLE);
    const rows = async () => {
      let n = 0;
      for await (const _ of inbound.listEntities()) n++;
      return n;
    };
    assert.ok((await rows()) >= 1, 'the delivery is recorded');
    w.clock.advance(3 * 24 * 3_600_000);
    await w.together.scheduler.tick();
    assert.equal(await rows(), 0, 'the old records are deleted');
    const again = await w.sim.say(w.cora, me, 'announce reps: Long ago', { id: '1765000000009' });
    assert.match(said(again), /All school reps/);
  });
});
