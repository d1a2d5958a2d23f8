import { z } from 'zod';
import { defineAction, type ActionSpec } from '../actions';
import { renderCard } from '../cards';
import type { CommandInput, CommandSpec, Mentioned } from '../commands';
import type { Logger } from '../logging';
import { channelLabel, teamChannelLabels } from '../channelNames';
import { resolveMention, type ResolvedMention } from '../mentions';
import type { Turn } from '../turn';
import { directoryCardData } from './cards';
import { checkSchoolName, describeRole, findSchool, parseRename, unknownSchoolMessage, type School } from './rules';
import type { DirectoryStore } from './store';

/** Coordinators manage the partnership directory from Teams; anyone can ask who they are and set their school. */

export interface DirectoryRouteDeps {
  readonly directory: DirectoryStore;
  readonly logger: Logger;
  readonly partnershipName: string;
  readonly localMode: boolean;
}

export function directoryRoutes(deps: DirectoryRouteDeps): { commands: CommandSpec[]; actions: ActionSpec[] } {
  const { directory } = deps;

  async function oneMention(turn: Turn, input: CommandInput, usage: string): Promise<ResolvedMention | undefined> {
    if (input.mentions.length !== 1) {
      await turn.refuse(`Mention exactly one person, e.g. \`${usage}\`. (In a personal chat you can't mention others: use this in a team channel or group chat where they are a member.)`);
      return undefined;
    }
    const resolved = await resolveMention(turn, input.mentions[0]!, deps.logger);
    if (typeof resolved === 'string') {
      await turn.refuse(resolved);
      return undefined;
    }
    return resolved;
  }

  async function schoolNamed(turn: Turn, name: string, usage: string): Promise<School | undefined> {
    if (!name) {
      turn.record.outcome = 'invalid';
      await turn.reply(`Say which school, e.g. \`${usage}\`.`);
      return undefined;
    }
    const schools = await directory.schools();
    const school = findSchool(schools, name);
    if (!school) {
      turn.record.outcome = 'invalid';
      await turn.reply(unknownSchoolMessage(schools, name));
    }
    return school;
  }

  const whoami = async (turn: Turn) => {
    const schools = await directory.schools();
    const lines = [describeRole(turn.person, schools)];
    if (turn.person.coordinatorFromConfig) lines.push('Your coordinator role comes from the COORDINATORS setting.');
    if (deps.localMode) lines.push(turn.person.isCoordinator ? `Your Entra object id is ${turn.actor.aadObjectId}.` : `Your Entra object id is ${turn.actor.aadObjectId} (put it in COORDINATORS to make yourself a coordinator).`);
    return lines.join('\n\n');
  };

  const commands: CommandSpec[] = [
    {
      name: 'whoami',
      usage: 'whoami',
      summary: 'Show your role and your school',
      audience: 'everyone',
      async run(turn) {
        await turn.reply(await whoami(turn));
      },
    },
    {
      name: 'my school',
      usage: 'my school <school name>',
      summary: 'Set your school, so your sign-ups count for it',
      audience: 'everyone',
      async run(turn, input) {
        const school = await schoolNamed(turn, input.text, 'my school Oakfield Academy');
        if (!school) return;
        if (turn.person.isRep && turn.person.schoolId && turn.person.schoolId !== school.id) {
          await turn.refuse('You are a rep of another school, so a coordinator changes your school: ask them to `rep add` you for the new one.');
          return;
        }
        await directory.updatePerson(turn.actor.aadObjectId, turn.actor.name, () => ({ schoolId: school.id }));
        await turn.reply(`Done: your school is ${school.name}.`);
      },
    },
    {
      name: 'directory',
      usage: 'directory',
      summary: 'List the partnership\'s schools, reps and coordinators',
      audience: 'everyone',
      async run(turn) {
        const [schools, staff, stored, names] = await Promise.all([directory.schools(), directory.staff(), directory.channels(), teamChannelLabels(turn, deps.logger)]);
        // Shown from a channel, the team's channels are named as Teams names them now (a renamed channel too), and the names kept.
        const channels = stored.map((c) => ({ ...c, label: names.get(c.conversationId) ?? c.label }));
        await Promise.all(channels.filter((c, i) => c.label !== stored[i]!.label).map((c) => directory.setChannel(c.role, c.conversationId, c.label)));
        await turn.replyCard(renderCard('directory', directoryCardData(deps.partnershipName, schools, staff, channels)));
      },
    },
    {
      name: 'school add',
      usage: 'school add <name>',
      summary: 'Add a partner school',
      audience: 'coordinator',
      async run(turn, input) {
        const checked = checkSchoolName(input.text);
        if (!checked.ok) {
          turn.record.outcome = 'invalid';
          await turn.reply(`${checked.problem} For example: \`school add Oakfield Academy\`.`);
          return;
        }
        const added = await directory.addSchool(checked.name);
        if (!added.ok) {
          turn.record.outcome = 'invalid';
          await turn.reply(`There is already a school called ${checked.name}.`);
          return;
        }
        await turn.reply(`Added ${checked.name} to the partnership. Add its reps with \`rep add @name ${checked.name}\`.`);
      },
    },
    {
      name: 'school rename',
      usage: 'school rename <name> to <new name>',
      summary: 'Rename a school',
      audience: 'coordinator',
      async run(turn, input) {
        const parsed = parseRename(await directory.schools(), input.text);
        if ('problem' in parsed) {
          turn.record.outcome = 'invalid';
          await turn.reply(parsed.problem);
          return;
        }
        const checked = checkSchoolName(parsed.newName);
        if (!checked.ok) {
          turn.record.outcome = 'invalid';
          await turn.reply(checked.problem);
          return;
        }
        const renamed = await directory.renameSchool(parsed.school.id, checked.name);
        if (!renamed.ok) {
          turn.record.outcome = 'invalid';
          await turn.reply(renamed.reason === 'exists' ? `There is already a school called ${checked.name}.` : `${parsed.school.name} changed while I was renaming it; nothing was changed. Please try again.`);
          return;
        }
        await turn.reply(`Renamed ${parsed.school.name} to ${checked.name}.`);
      },
    },
    {
      name: 'school remove',
      usage: 'school remove <name>',
      summary: 'Remove a school (its reps stop being reps)',
      audience: 'coordinator',
      async run(turn, input) {
        const school = await schoolNamed(turn, input.text, 'school remove Oakfield Academy');
        if (!school) return;
        const removed = await directory.removeSchool(school.id);
        if (!removed.ok) {
          turn.record.outcome = 'invalid';
          await turn.reply(removed.reason === 'missing' ? `${school.name} has already been removed.` : `${school.name} changed while I was removing it; nothing was changed. Please try again.`);
          return;
        }
        const { reps, members } = removed.value;
        const others = members - reps;
        const after = [reps > 0 ? `${reps} ${reps === 1 ? 'rep is' : 'reps are'} no longer a rep` : '', others > 0 ? `${others} ${others === 1 ? 'person no longer has' : 'people no longer have'} a school set` : '']
          .filter((s) => s)
          .join('; ');
        await turn.reply(`Removed ${school.name} from the partnership.${after ? ` ${after}.` : ''}`);
      },
    },
    {
      name: 'rep add',
      usage: 'rep add @person <school name>',
      summary: 'Make someone a rep of a school',
      audience: 'coordinator',
      async run(turn, input) {
        const person = await oneMention(turn, input, 'rep add @Sam Patel Oakfield Academy');
        if (!person) return;
        const school = await schoolNamed(turn, input.text, 'rep add @Sam Patel Oakfield Academy');
        if (!school) return;
        let previous: string | undefined;
        await directory.updatePerson(person.aadObjectId, person.name, (current) => {
          previous = current?.isRep && current.schoolId !== school.id ? current.schoolId : undefined;
          // The mention carries their Teams id: shared cards can show them their own view before they ever chat with Together.
          return { isRep: true, schoolId: school.id, teamsId: person.teamsId };
        });
        const was = previous ? (await directory.schools()).find((s) => s.id === previous) : undefined;
        await turn.reply(`${person.name} is now a rep of ${school.name}.${was ? ` They are no longer a rep of ${was.name}.` : ''}`);
      },
    },
    {
      name: 'rep remove',
      usage: 'rep remove @person',
      summary: 'Stop someone being a rep',
      audience: 'coordinator',
      async run(turn, input) {
        const person = await oneMention(turn, input, 'rep remove @Sam Patel');
        if (!person) return;
        const stored = await directory.person(person.aadObjectId);
        if (!stored?.isRep) {
          turn.record.outcome = 'invalid';
          await turn.reply(`${person.name} is not a rep, so nothing changed.`);
          return;
        }
        await directory.updatePerson(person.aadObjectId, person.name, () => ({ isRep: false }));
        await turn.reply(`${person.name} is no longer a rep. They stay on the directory as a teacher at their school.`);
      },
    },
    {
      name: 'coordinator add',
      usage: 'coordinator add @person',
      summary: 'Make someone a coordinator',
      audience: 'coordinator',
      async run(turn, input) {
        const person = await oneMention(turn, input, 'coordinator add @Alex Morgan');
        if (!person) return;
        await directory.updatePerson(person.aadObjectId, person.name, () => ({ isCoordinator: true, teamsId: person.teamsId }));
        await turn.reply(`${person.name} is now a coordinator of ${deps.partnershipName}.`);
      },
    },
    {
      name: 'coordinator remove',
      usage: 'coordinator remove @person',
      summary: 'Stop someone being a coordinator',
      audience: 'coordinator',
      async run(turn, input) {
        const person = await oneMention(turn, input, 'coordinator remove @Alex Morgan');
        if (!person) return;
        const coordinators = await directory.coordinators();
        const target = coordinators.find((c) => c.aadObjectId === person.aadObjectId);
        if (!target) {
          turn.record.outcome = 'invalid';
          await turn.reply(`${person.name} is not a coordinator, so nothing changed.`);
          return;
        }
        if ((await directory.resolve(person.aadObjectId, '')).coordinatorFromConfig) {
          await turn.refuse(`${person.name} is a coordinator through the COORDINATORS setting; change that setting to remove them.`);
          return;
        }
        if (coordinators.length <= 1) {
          await turn.refuse(`${person.name} is the only coordinator. Add another coordinator first.`);
          return;
        }
        await directory.updatePerson(person.aadObjectId, person.name, () => ({ isCoordinator: false }));
        await turn.reply(`${person.name} is no longer a coordinator.`);
      },
    },
    {
      name: 'channel',
      usage: 'channel announcements | reps | school <name> | clear',
      summary: 'Mark this channel as the announcements channel, the reps\' channel or a school\'s channel',
      audience: 'coordinator',
      async run(turn, input) {
        if (turn.conversation.kind !== 'channel') {
          turn.record.outcome = 'invalid';
          await turn.reply('Use `channel` in a team channel, with an @mention of Together.');
          return;
        }
        const [word = '', ...rest] = input.text.split(' ');
        const label = await channelLabel(turn, deps.logger);
        switch (word.toLowerCase()) {
          case 'announcements':
            await directory.setChannel({ kind: 'announcements' }, turn.conversation.id, label);
            await turn.reply(`This channel is now the partnership's announcements channel.`);
            return;
          case 'reps':
            await directory.setChannel({ kind: 'reps' }, turn.conversation.id, label);
            await turn.reply(`This channel is now the reps' channel: proposals for approval will be posted here.`);
            return;
          case 'school': {
            const school = await schoolNamed(turn, rest.join(' '), 'channel school Oakfield Academy');
            if (!school) return;
            await directory.setChannel({ kind: 'school', schoolId: school.id }, turn.conversation.id, label);
            await turn.reply(`This channel is now ${school.name}'s channel.`);
            return;
          }
          case 'clear': {
            const cleared = await directory.clearChannelsOf(turn.conversation.id);
            await turn.reply(cleared > 0 ? 'This channel no longer has a role in the partnership.' : 'This channel had no role, so nothing changed.');
            return;
          }
          default:
            turn.record.outcome = 'invalid';
            await turn.reply('Say which role: `channel announcements`, `channel reps`, `channel school` and the school\'s name, or `channel clear`.');
        }
      },
    },
  ];

  const actions: ActionSpec[] = [
    defineAction({
      verb: 'directory.whoami',
      data: z.object({}).strict(),
      audience: 'everyone',
      async run(turn) {
        return { message: await whoami(turn) };
      },
    }),
  ];

  return { commands, actions };
}
