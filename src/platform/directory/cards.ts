import type { School } from './rules';
import type { ChannelAssignment, StoredPerson } from './store';

/** Template data for cards/directory.json. */
export interface DirectoryCardData {
  readonly partnership: string;
  readonly hasSchools: boolean;
  readonly schools: { name: string; reps: string }[];
  readonly coordinators: string;
  readonly channels: { role: string; label: string }[];
  readonly hasChannels: boolean;
}

export function directoryCardData(partnership: string, schools: readonly School[], staff: readonly StoredPerson[], channels: readonly ChannelAssignment[]): DirectoryCardData {
  const named = (p: StoredPerson) => p.name || '(name not known yet)';
  const coordinators = staff.filter((p) => p.isCoordinator).map(named);
  return {
    partnership,
    hasSchools: schools.length > 0,
    schools: schools.map((school) => {
      const reps = staff.filter((p) => p.isRep && p.schoolId === school.id).map(named);
      return { name: school.name, reps: reps.length > 0 ? reps.join(', ') : 'No reps yet' };
    }),
    coordinators: coordinators.length > 0 ? coordinators.join(', ') : 'None yet',
    channels: channels.map((c) => ({
      role: c.role.kind === 'school' ? `${schools.find((s) => s.id === (c.role as { schoolId: string }).schoolId)?.name ?? 'A school'}'s channel` : c.role.kind === 'reps' ? 'Reps\' channel' : 'Announcements',
      label: c.label,
    })),
    hasChannels: channels.length > 0,
  };
}
