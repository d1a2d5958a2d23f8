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
