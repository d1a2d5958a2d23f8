import assert from 'node:assert/strict';
import { newPseudonym } from '../../src/platform/identity';
import { redactOthers } from '../../src/privacy/personalData';

/** `my data`'s file: other people's ids in the person's rows become "(someone else)", an erased person's pseudonym whole. */
describe('my data: other people\'s ids in my rows', function () {
  const me = 'c0ffee00-1111-4222-8333-444455556666';
  const other = 'deadbeef-1111-4222-8333-444455556666';
  const pseudonym = newPseudonym();
  const cases: { holds: string; then: string; value: string; shown: string }[] = [
    { holds: 'my own Entra id', then: 'it stays', value: `byAad ${me.toUpperCase()}`, shown: `byAad ${me.toUpperCase()}` },
    { holds: "someone else's Entra id", then: 'it shows as "(someone else)"', value: `proposerAad ${other}`, shown: 'proposerAad (someone else)' },
    { holds: "an erased person's pseudonym", then: 'it shows as "(someone else)", whole (no sign of the erasure is left)', value: `proposerAad ${pseudonym}`, shown: 'proposerAad (someone else)' },
    { holds: 'a pseudonym inside JSON, in capitals', then: 'it shows as "(someone else)" and mine stays', value: JSON.stringify({ by: pseudonym.toUpperCase(), me }), shown: JSON.stringify({ by: '(someone else)', me }) },
  ];
  for (const c of cases) {
    it(`when a row holds ${c.holds}, then ${c.then}`, function () {
      assert.deepEqual(redactOthers([{ value: c.value, n: 3 }], me, []), [{ value: c.shown, n: 3 }]);
    });
  }
});
