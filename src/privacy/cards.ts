import { renderCard, type AdaptiveCard } from '../platform/cards';
import type { PersonalRecords } from './personalData';

/** Words for people about their own data. */

export const PRIVATE_ONLY = 'What Together holds about you is for you only: ask me `my data` in our personal chat.';

export function myDataCard(records: readonly PersonalRecords[], partnership: string, download: { url: string; validFor: string }): AdaptiveCard {
  const held = records.filter((r) => r.rows.length > 0);
  return renderCard('myData', {
    partnership,
    none: held.length === 0,
    tables: held.map((r) => ({ capability: r.capability, count: `${r.rows.length} ${r.rows.length === 1 ? 'record' : 'records'}`, what: r.personalData })),
    url: download.url,
    validFor: download.validFor,
  });
}

/** Asks before erasing: what will go, and that it cannot be undone. */
export function forgetConfirmCard(records: readonly PersonalRecords[], subject: { me: true } | { me: false; aadObjectId: string; name: string; teamsId: string }): AdaptiveCard {
  const held = records.filter((r) => r.rows.length > 0);
  return renderCard('forgetConfirm', {
    title: subject.me ? 'Erase what Together holds about you?' : `Erase ${subject.name} from Together?`,
    tables: held.map((r) => ({ capability: r.capability, count: `${r.rows.length} ${r.rows.length === 1 ? 'record' : 'records'}` })),
    subject: subject.me ? 'Your' : 'Their',
    confirm: subject.me ? 'Yes, erase me' : `Yes, erase ${subject.name}`,
    target: subject.me ? 'me' : subject.aadObjectId,
    name: subject.me ? '' : subject.name,
    teamsId: subject.me ? '' : subject.teamsId,
  });
}

export const NOTHING_TO_FORGET = 'Together holds nothing about that person, so there is nothing to erase.';
export const ONLY_COORDINATORS_FORGET_OTHERS = 'Only coordinators can erase someone else. To erase what Together holds about you, type `forget me`.';

export function forgotten(subject: { me: boolean; name: string }, erased: { deleted: number; anonymised: number }): string {
  const who = subject.me ? 'you' : subject.name;
  return `Done: ${erased.deleted} ${erased.deleted === 1 ? 'record' : 'records'} deleted and ${erased.anonymised} anonymised. Together no longer holds anything that identifies ${who}.`;
}
