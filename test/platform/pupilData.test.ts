import assert from 'node:assert/strict';
import { pupilDataWarnings } from '../../src/platform/pupilData';

/** The pupil-data warning: names next to pupil words are caught; ordinary school writing is not. */

const SCHOOLS = ['Oakfield Academy', 'Brookside Primary', 'St Mary\'s CofE Primary', 'Hillside High'];

const warned: [string, string][] = [
  ['Year 9 pupil Jamie Smith gave a brilliant talk.', 'Year 9 pupil Jamie Smith'],
  ['Our student Ava presented her project.', 'Our student Ava presented'],
  ['Worked with Tom from Y7 on fractions', 'with Tom from Y7 on'],
  ['EHCP review for Olivia next week', 'EHCP review for Olivia next'],
  ['The workshop went well. SEN support for Zoë was key.', 'SEN support for Zoë was'],
  ['Pupil premium: Kacper and Aisha took part.', 'Pupil premium: Kacper and'],
  ['children including Anne-Marie joined', 'children including Anne-Marie joined'],
];

const quiet: string[] = [
  'Year 9 students in Science will visit the Museum of Science and Industry.',
  'Pupils from Oakfield Academy and Hillside High will work together on STEM.',
  'Students in Key Stage 3 Maths: 120 pupils, 8 staff.',
  'A careers fair for Year 10 and Year 11 at Brookside Primary in March.',
  'Jamie Smith (Head of Maths) will lead the session.',
  'SEND provision: sharing practice across the partnership.',
  'On Monday the pupils meet at St Mary\'s CofE Primary.',
  'Retrieval practice in Year 9: low-stakes quizzes.',
];

describe('pupil data: a warning before anything is stored', function () {
  for (const [text, excerpt] of warned) {
    it(`when someone writes "${text}", then they are warned, quoting "${excerpt}"`, function () {
      assert.deepEqual(pupilDataWarnings({ summary: text }, SCHOOLS), [{ field: 'summary', excerpt }]);
    });
  }
  for (const text of quiet) {
    it(`when someone writes "${text}", then there is no warning`, function () {
      assert.deepEqual(pupilDataWarnings({ summary: text }, SCHOOLS), []);
    });
  }
  it('when several fields are checked, then each field is warned about at most once and empty fields are skipped', function () {
    const warnings = pupilDataWarnings({ title: 'Spring TeachMeet', summary: 'Year 9 pupil Jamie Smith. Student Ava too.', legacy: undefined, notes: '' }, SCHOOLS);
    assert.deepEqual(warnings.map((w) => w.field), ['summary']);
  });
});
