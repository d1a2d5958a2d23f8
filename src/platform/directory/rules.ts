import type { Person } from '../identity';

/** Pure rules of the partnership directory: names, look-ups and what a person's role reads as. */

export interface School {
  readonly id: string;
  readonly name: string;
}

export type NameCheck = { ok: true; name: string } | { ok: false; problem: string };

/** A school name: 2–80 characters of letters, digits, spaces and ordinary punctuation. */
export function checkSchoolName(raw: string): NameCheck {
  const name = raw.replace(/\s+/g, ' ').trim();
  if (name.length === 0) return { ok: false, problem: 'Please give the school\'s name.' };
  if (name.length < 2) return { ok: false, problem: 'A school name needs at least 2 characters.' };
  if (name.length > 80) return { ok: false, problem: 'A school name can be at most 80 characters.' };
  if (!/^[\p{L}\p{N}][\p{L}\p{N} '’&.,()\-]*$/u.test(name)) {
    return { ok: false, problem: 'A school name can contain letters, numbers, spaces and \' & . , ( ) - only.' };
  }
  return { ok: true, name };
}

/** The form used to compare names: case, accents-free spacing and apostrophe styles do not matter. */
export function nameKey(name: string): string {
  return name.replace(/\s+/g, ' ').trim().toLowerCase().replace(/’/g, "'");
}

export function findSchool(schools: readonly School[], name: string): School | undefined {
  const key = nameKey(name);
  return schools.find((s) => nameKey(s.name) === key);
}

/**
 * Splits 'Oakfield to Oakfield Academy' into the school it names and the new name. Names may
 * contain ' to ', so the split chosen is the one whose left side is an existing school.
 */
export function parseRename(schools: readonly School[], text: string): { school: School; newName: string } | { problem: string } {
  const parts = text.split(/ to /i);
  if (parts.length < 2) return { problem: 'Say which school and its new name, e.g. `school rename Oakfield to Oakfield Academy`.' };
  for (let i = parts.length - 1; i >= 1; i -= 1) {
    const school = findSchool(schools, parts.slice(0, i).join(' to '));
    if (school) return { school, newName: parts.slice(i).join(' to ') };
  }
  return { problem: `I can't find a school called "${parts[0]!.trim()}". Type \`directory\` to see the schools.` };
}

/** "You're a rep of Oakfield Academy" and the like, for whoami. */
export function describeRole(person: Person, schools: readonly School[]): string {
  const school = person.schoolId ? schools.find((s) => s.id === person.schoolId) : undefined;
  const parts: string[] = [];
  if (person.isCoordinator) parts.push('a coordinator of the partnership');
  if (person.isRep && school) parts.push(`a rep of ${school.name}`);
  if (parts.length === 0) parts.push(school ? `a teacher at ${school.name}` : 'a teacher');
  const role = parts.join(' and ');
  if (!school && !person.isCoordinator) return `You're ${role}. You haven't set your school yet: type \`my school\` and your school's name, e.g. \`my school ${schools[0]?.name ?? 'Oakfield Academy'}\`.`;
  if (!person.isRep && school && person.isCoordinator) return `You're ${role}, at ${school.name}.`;
  return `You're ${role}.`;
}

/** School names listed for a person who gave one that does not exist. */
export function unknownSchoolMessage(schools: readonly School[], name: string): string {
  if (schools.length === 0) return `There are no schools in the directory yet, so I can't find "${name}". A coordinator can add one with \`school add\` and its name.`;
  return `I can't find a school called "${name}". The schools are: ${schools.map((s) => s.name).join(', ')}.`;
}
