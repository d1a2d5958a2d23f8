/**
 * A warning, before anything is stored, when free text looks like it names a pupil.
 *
 * Why: Together must hold no pupil's personal data (UK GDPR data minimisation; SEND, pupil premium and
 * safeguarding data are special category), and every free-text field says so, but a busy teacher
 * writes "Year 9 pupil Jamie Smith presented…" anyway. So:
 * 1. text is split into sentences, and a sentence is suspect when it has a pupil word ("pupil",
 *    "student", "child", "Year 9", "Y9", "SEN", "SEND", "EHCP", "pupil premium", "FSM", "looked after")
 *    and, within four words of it, a capitalised word that could be a first name;
 * 2. words that are capitalised for other reasons are not names: the first word of a sentence, school
 *    and place words (Academy, Primary…), subjects, days and months, acronyms, the partnership's school
 *    names, and a short list of other common capitalised words;
 * 3. the warning quotes the words from one before to one after the name and the pupil word; the form
 *    comes back with the text kept, and the writer edits it or sends it anyway. It is a warning, never
 *    a block: ordinary words never trip it alone, and a false alarm costs one extra click.
 */

export interface PupilDataWarning {
  /** The form field, as the caller named it. */
  readonly field: string;
  /** The words that look like a pupil's name with their context, e.g. "Year 9 pupil Jamie Smith". */
  readonly excerpt: string;
}

const PUPIL_WORDS = /\b(pupils?|students?|child(?:ren)?|kids?|learners?|boys?|girls?|year\s?\d{1,2}|y\d{1,2}|yr\s?\d{1,2}|send?|ehcp|fsm|pupil premium|looked[- ]after|cla|lac|safeguarding)\b/i;

const NOT_NAMES = new Set(
  [
    // schools and places
    'academy', 'school', 'schools', 'primary', 'secondary', 'high', 'college', 'trust', 'church', 'cofe', 'catholic', 'infant', 'infants', 'junior', 'juniors', 'nursery', 'sixth', 'form', 'city', 'university', 'museum', 'library', 'hall', 'centre', 'theatre', 'park', 'street', 'road', 'north', 'south', 'east', 'west', 'upper', 'lower',
    // subjects and programmes
    'maths', 'mathematics', 'english', 'science', 'biology', 'chemistry', 'physics', 'history', 'geography', 'art', 'music', 'drama', 'dance', 'french', 'spanish', 'german', 'latin', 'computing', 'technology', 'design', 'religious', 'education', 'citizenship', 'pshe', 'stem', 'steam', 'reading', 'writing', 'phonics', 'literacy', 'numeracy', 'careers', 'sport', 'sports', 'languages', 'key', 'stage', 'gcse', 'gcses', 'levels', 'level', 'btec',
    // time
    'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday', 'january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december', 'autumn', 'spring', 'summer', 'term', 'christmas', 'easter', 'half',
    // roles and common capitalised words
    'year', 'pupil', 'pupils', 'student', 'students', 'teacher', 'teachers', 'head', 'headteacher', 'deputy', 'mr', 'mrs', 'ms', 'miss', 'dr', 'sir', 'the', 'our', 'their', 'all', 'each', 'every', 'some', 'this', 'that', 'these', 'those', 'we', 'they', 'i', 'a', 'an', 'and', 'or', 'with', 'from', 'for', 'to', 'in', 'on', 'at', 'by', 'of', 'teachmeet', 'teachmeets', 'together', 'partnership', 'premium', 'group', 'groups', 'team', 'club', 'council', 'leaders', 'ambassadors', 'teams', 'microsoft', 'zoom', 'google',
  ].map((w) => w.toLowerCase()),
);

/** A capitalised word that could be a first name: Jamie, Zoë, O'Neil, Anne-Marie (not ALLCAPS acronyms). */
const CAPITALISED = /^[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:['’-][A-ZÀ-ÖØ-Þ]?[a-zß-öø-ÿ]+)*$/;

export function pupilDataWarnings(fields: Readonly<Record<string, string | undefined>>, schoolNames: readonly string[] = []): PupilDataWarning[] {
  const schoolWords = new Set(schoolNames.flatMap((n) => n.toLowerCase().split(/[^a-zà-ÿ'’-]+/)).filter((w) => w.length > 0));
  const warnings: PupilDataWarning[] = [];
  for (const [field, text] of Object.entries(fields)) {
    if (!text) continue;
    for (const sentence of text.split(/(?<=[.!?;])\s+|\n+/)) {
      if (!PUPIL_WORDS.test(sentence)) continue;
      const words = sentence.split(/\s+/).filter((w) => w.length > 0);
      const bare = words.map((w) => w.replace(/^[("'‘“[]+|[)"'’”\],.!?;:]+$/g, ''));
      // A pupil word, or the second of two that are one only together ("Year 9", "pupil premium").
      const single = bare.map((w) => PUPIL_WORDS.test(w));
      const pupilAt = bare.map((w, i) => (single[i] || (i > 0 && !single[i - 1] && PUPIL_WORDS.test(`${bare[i - 1]} ${w}`)) ? i : -1)).filter((i) => i >= 0);
      const nameAt = bare.findIndex((w, i) => i > 0 && CAPITALISED.test(w) && !NOT_NAMES.has(w.toLowerCase()) && !schoolWords.has(w.toLowerCase()) && pupilAt.some((p) => Math.abs(p - i) <= 4));
      if (nameAt < 0) continue;
      const from = Math.max(0, Math.min(nameAt, ...pupilAt.filter((p) => Math.abs(p - nameAt) <= 4)) - 1);
      const to = Math.min(words.length, Math.max(nameAt, ...pupilAt.filter((p) => Math.abs(p - nameAt) <= 4)) + 2);
      warnings.push({ field, excerpt: words.slice(from, to).join(' ').replace(/[.,;:]+$/, '') });
      break;
    }
  }
  return warnings;
}

/** The warning a writer reads above their form (one sentence per field; '' when there is none). */
export function pupilWarningText(warnings: readonly PupilDataWarning[], labels: Readonly<Record<string, string>>, anyway = 'Submit anyway'): string {
  if (warnings.length === 0) return '';
  const where = warnings.map((w) => `"${w.excerpt}" (${labels[w.field] ?? w.field})`).join('; ');
  return `This may name a pupil: ${where}. Together must not hold pupils' personal data, so nothing has been saved yet. Please take the name out, or press "${anyway}".`;
}
