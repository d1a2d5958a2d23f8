import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from './config';
import type { ActionSpec } from './platform/actions';
import { createAdapter, createBot } from './platform/bot';
import { systemClock, type Clock } from './platform/clock';
import type { CommandSpec } from './platform/commands';
import { CONVERSATIONS_TABLE, ConversationStore } from './platform/conversations/store';
import { DEADLINES_TABLE, DeadlineStore } from './platform/deadlines/store';
import { directoryRoutes } from './platform/directory/routes';
import { DIRECTORY_TABLE, DirectoryStore } from './platform/directory/store';
import { helpRoutes } from './platform/help';
import { INBOUND_TABLE, InboundLog } from './platform/inbound';
import { signedCsv } from './platform/downloads';
import { SignedLinks } from './platform/links';
import type { Logger } from './platform/logging';
import { Proactive } from './platform/proactive';
import { OUTBOX_TABLE, SendGate, type GateOptions } from './platform/outbox/gate';
import { Outbox, OUTBOX_TIMER } from './platform/outbox/outbox';
import type { PressLimits } from './platform/rateLimit';
import { startServer, type Download } from './platform/server';
import { Tables, type TableTarget } from './platform/storage/tables';
import { announcementRoutes, type AnnouncementRoutes } from './announcements/routes';
import type { AnnouncementService, AnnouncementTuning } from './announcements/service';
import { Scheduler, TIMERS_TABLE, Timers, type TickJob, type TimerHandler } from './platform/timers';
import { nudgeRoutes } from './nudges/routes';
import { NudgeService } from './nudges/service';
import { NUDGES_TABLE, NudgeStore } from './nudges/store';
import type { Turn } from './platform/turn';
import { attendeeRows, attendeesCsv } from './teachmeets/cards';
import { DEFAULT_OFFER_POLICY, type OfferPolicy } from './teachmeets/model';
import { teachMeetRoutes } from './teachmeets/routes';
import { REMINDERS_TIMER, SWEEP_TIMER, TeachMeetService } from './teachmeets/service';
import { TEACHMEETS_TABLE, TeachMeetStore } from './teachmeets/store';
import { swapRoutes } from './swaps/routes';
import { proposalRoutes } from './proposals/routes';
import { PROPOSALS_TABLE, ProposalStore } from './proposals/store';
import { impactRoutes } from './impact/routes';
import { ImpactService } from './impact/service';
import { IMPACT_TABLE, ImpactStore } from './impact/store';
import type { ImpactSources, Project } from './impact/model';
import type { Proposal } from './proposals/model';
import { SWAPS_TABLE, SwapStore } from './swaps/store';
import { ANNOUNCEMENTS_TABLE, AnnouncementStore } from './announcements/store';
import type { TableInventory } from './platform/inventory';
import { PLATFORM_INVENTORY } from './platform/platformInventory';
import { TEACHMEETS_INVENTORY } from './teachmeets/inventory';
import { SWAPS_INVENTORY } from './swaps/inventory';
import { PROPOSALS_INVENTORY } from './proposals/inventory';
import { NUDGES_INVENTORY } from './nudges/inventory';
import { ANNOUNCEMENTS_INVENTORY } from './announcements/inventory';
import { IMPACT_INVENTORY } from './impact/inventory';
import { privacyRoutes } from './privacy/routes';
import { RetentionJob } from './platform/retention';

/**
 * The composition root: builds the storage clients, wires every capability into the bot, starts the
 * server and the scheduler. The only file that knows every capability. The process entry
 * (environment, embedded storage, signals) is main.ts.
 */

export interface TogetherOptions {
  readonly config: Config;
  readonly storage: TableTarget;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Prefix for every table name (tests give each suite its own). */
  readonly tablePrefix?: string;
  /** Port to listen on; defaults to config.port (0 picks a free one). */
  readonly port?: number;
  readonly host?: string;
  /** How often the scheduler ticks; 0 turns the timer off (tests tick by hand). Default: config.schedulerIntervalMs (60 s). */
  readonly schedulerIntervalMs?: number;
  readonly offerPolicy?: OfferPolicy;
  /** How many commands and clicks one person may send (tests make it small). */
  readonly pressLimits?: PressLimits;
  /** The send gate's limits (tests make them small); the app's rate comes from config (TEAMS_SEND_RATE) unless given here. */
  readonly send?: Partial<GateOptions>;
  /** Announcement report timing (tests make it fast). */
  readonly announcements?: Partial<AnnouncementTuning>;
}

export interface Together {
  readonly url: string;
  readonly port: number;
  readonly tables: Tables;
  readonly directory: DirectoryStore;
  readonly conversations: ConversationStore;
  /** The deadline registry every capability registers with (and the nudges read). */
  readonly deadlines: DeadlineStore;
  readonly scheduler: Scheduler;
  readonly teachmeets: TeachMeetService;
  readonly nudges: NudgeService;
  readonly announcements: AnnouncementService;
  /** Everything a change tells people goes through it. */
  readonly outbox: Outbox;
  close(): Promise<void>;
  /**
   * For tests: the process dies this instant, as if killed (not a graceful stop): nothing more is
   * sent or written, nothing owed is handed over, the port closes.
   */
  crash(): Promise<void>;
}

/** What every table holds, for a school's DPO (README's "What Together stores" is made from it). */
export const INVENTORY: readonly TableInventory[] = [...PLATFORM_INVENTORY, TEACHMEETS_INVENTORY, SWAPS_INVENTORY, PROPOSALS_INVENTORY, NUDGES_INVENTORY, ANNOUNCEMENTS_INVENTORY, IMPACT_INVENTORY];

export const TABLES = [DIRECTORY_TABLE, CONVERSATIONS_TABLE, TIMERS_TABLE, TEACHMEETS_TABLE, SWAPS_TABLE, DEADLINES_TABLE, NUDGES_TABLE, PROPOSALS_TABLE, ANNOUNCEMENTS_TABLE, INBOUND_TABLE, IMPACT_TABLE, OUTBOX_TABLE] as const;

export interface Capabilities {
  readonly commands: readonly CommandSpec[];
  readonly actions: readonly ActionSpec[];
  readonly timers: ReadonlyMap<string, TimerHandler>;
  readonly downloads: readonly Download[];
  /** Work done on every scheduler tick (the nudge round). */
  readonly jobs: readonly TickJob[];
  help(turn: Turn, unknown?: string): Promise<void>;
  welcome(turn: Turn): Promise<void>;
}

export interface CapabilityDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly tables: Tables;
  readonly directory: DirectoryStore;
  readonly conversations: ConversationStore;
  readonly proactive: Proactive;
  readonly timers: Timers;
  readonly links: SignedLinks;
  readonly offerPolicy: OfferPolicy;
  /** The deadline registry (a DeadlineRegistry; the nudges capability also reads what is due from it). */
  readonly deadlines: DeadlineStore;
  readonly announcementTuning?: Partial<AnnouncementTuning>;
  /** Everything a change tells people goes through it (platform/outbox/outbox.ts). */
  readonly outbox: Outbox;
}

/** Every capability's commands, card actions, timers and downloads, in the order help lists them. */
export function wireCapabilities(deps: CapabilityDeps): Capabilities & { teachmeets: TeachMeetService; nudges: NudgeService; announcements: AnnouncementRoutes } {
  const { config, logger, directory } = deps;
  const directoryPart = directoryRoutes({ directory, logger, partnershipName: config.partnershipName, localMode: config.localMode });

  const teachMeetStore = new TeachMeetStore(deps.tables, logger);
  const teachmeets = new TeachMeetService({ store: teachMeetStore, directory, conversations: deps.conversations, outbox: deps.outbox, timers: deps.timers, clock: deps.clock, logger, policy: deps.offerPolicy, deadlines: deps.deadlines });
  const attendees = signedCsv(deps.links, deps.clock, {
    route: '/api/teachmeets/:id/attendees.csv',
    id: /^tm[0-9a-f]{10}$/,
    refused: 'This link has expired or is not valid. Ask for a new one from the TeachMeet card.',
    async csv(eventId) {
      const loaded = await teachmeets.queue.read(eventId);
      if (!loaded) return { missing: 'That TeachMeet no longer exists.' };
      return { body: attendeesCsv(attendeeRows(loaded.agg, await teachmeets.schoolNames())), filename: `teachmeet-${eventId}.csv` };
    },
  });
  const teachMeetPart = teachMeetRoutes({
    service: teachmeets,
    store: teachMeetStore,
    directory,
    conversations: deps.conversations,
    csvLink: attendees.link,
    // Late-bound: the announcements capability is wired below.
    repsMayAnnounce: () => announcePart.repsMayAnnounce(),
  });
  const downloads: Download[] = [attendees.download];

  const nudgeStore = new NudgeStore(deps.tables, logger);
  const nudges = new NudgeService({ deadlines: deps.deadlines, store: nudgeStore, directory, conversations: deps.conversations, proactive: deps.proactive, outbox: deps.outbox, clock: deps.clock, logger, partnershipName: config.partnershipName });
  const nudgePart = nudgeRoutes({ service: nudges, store: nudgeStore, deadlines: deps.deadlines, directory, partnershipName: config.partnershipName });

  let commands: CommandSpec[] = [];
  const help = helpRoutes(config.partnershipName, () => commands);
  const swapPart = swapRoutes({ tables: deps.tables, directory, conversations: deps.conversations, outbox: deps.outbox, timers: deps.timers, clock: deps.clock, logger, partnershipName: config.partnershipName });
  const proposalPart = proposalRoutes({ tables: deps.tables, directory, conversations: deps.conversations, outbox: deps.outbox, clock: deps.clock, logger, partnershipName: config.partnershipName });
  commands = [help.command, ...directoryPart.commands, ...teachMeetPart.commands, ...swapPart.commands, ...proposalPart.commands, ...nudgePart.commands];
  const actions = [...help.actions, ...directoryPart.actions, ...teachMeetPart.actions, ...swapPart.actions, ...proposalPart.actions, ...nudgePart.actions];
  const timers = new Map<string, TimerHandler>([[OUTBOX_TIMER, (key) => deps.outbox.recover(key)], [SWEEP_TIMER, (key) => teachmeets.sweep(key)], [REMINDERS_TIMER, (key) => teachmeets.registerAllReminders(key)], ...swapPart.timers]);
  const announcePart = announcementRoutes({ tables: deps.tables, directory, conversations: deps.conversations, proactive: deps.proactive, timers: deps.timers, links: deps.links, clock: deps.clock, logger, partnershipName: config.partnershipName, outbox: deps.outbox, tuning: deps.announcementTuning });
  commands.push(...announcePart.commands);
  const retention = new RetentionJob(deps.tables, INVENTORY, config.retention, logger);
  const privacyPart = privacyRoutes({ tables: deps.tables, inventory: INVENTORY, links: deps.links, clock: deps.clock, partnershipName: config.partnershipName, directory, conversations: deps.conversations, logger, beforeErase: [(aad, now) => teachmeets.releasePlaces(aad, now)], afterErase: [() => teachmeets.afterErase()] });
  commands.push(...privacyPart.commands);
  actions.push(...privacyPart.actions);
  downloads.push(...privacyPart.downloads);
  actions.push(...announcePart.actions);
  for (const [kind, handler] of announcePart.timers) timers.set(kind, handler);
  downloads.push(...announcePart.downloads);
  const impactStore = new ImpactStore(deps.tables, logger);
  const impact = new ImpactService({ store: impactStore, directory, registry: deps.deadlines, sources: impactSources(deps, { teachMeetStore, nudgeStore }) });
  const impactPart = impactRoutes({ service: impact, store: impactStore, directory, links: deps.links, clock: deps.clock, partnershipName: config.partnershipName });
  commands.push(...impactPart.commands);
  actions.push(...impactPart.actions);
  downloads.push(...impactPart.downloads);
  return { commands, actions, timers, downloads, help: help.help, welcome: help.welcome, teachmeets, jobs: [(now: Date) => impact.askForOutcomes(now), (now: Date) => nudges.tick(now), (now: Date) => retention.tick(now)], nudges, announcements: announcePart };
}

/**
 * What the impact report counts, read from each capability's store (capabilities never import each
 * other; they meet here): each store answers one query for the rows whose deciding date can fall in
 * the period, and the rows become the impact capability's plain records.
 */
function impactSources(deps: CapabilityDeps, stores: { teachMeetStore: TeachMeetStore; nudgeStore: NudgeStore }): ImpactSources {
  const swaps = new SwapStore(deps.tables, deps.logger);
  const proposals = new ProposalStore(deps.tables, deps.logger);
  const announcements = new AnnouncementStore(deps.tables, deps.logger);
  return {
    async records({ start, end, from, to }) {
      const [events, agreed, proposed, acks, sent, due, people, needs, outcomes] = await Promise.all([
        stores.teachMeetStore.placesBetween(start, end),
        swaps.agreedStartingBetween(from, to),
        proposals.submittedOrClosedBetween(start, end),
        announcements.acksBetween(start, end),
        stores.nudgeStore.sentBetween(from, to),
        deps.deadlines.dueBetween(start, end),
        deps.directory.allPeople(),
        proposals.tags('needs'),
        proposals.tags('outcomes'),
      ]);
      const schoolOf = new Map(people.map((p) => [p.aadObjectId.toLowerCase(), p.schoolId ?? '']));
      return {
        places: events.flatMap((e) => e.places.map((p) => ({ eventId: e.eventId, startsAt: e.startsAt, cancelled: e.cancelled, schoolId: p.schoolId, role: p.role }))),
        swaps: agreed,
        proposals: proposed.map((p) => ({
          id: p.id,
          title: p.content.title,
          leadSchoolId: p.leadSchoolId,
          partnerSchoolIds: p.content.partnerSchoolIds,
          submittedAt: p.createdAt,
          signedOffAt: p.lifecycle === 'approved' ? p.closed?.at : undefined,
          withdrawn: p.lifecycle === 'withdrawn',
          pupils: p.content.pupils,
          staff: p.content.staff,
          outcome: p.content.outcome,
          endDate: p.content.endDate,
          mutualNeeds: p.content.mutualNeeds,
          funderOutcomes: p.content.funderOutcomes,
        })),
        acks: acks.map((a) => ({ announcementId: a.announcementId, schoolId: a.schoolId, at: new Date(a.at) })),
        nudges: sent.map((n) => ({ day: n.day, aadObjectId: n.aadObjectId, schoolId: schoolOf.get(n.aadObjectId.toLowerCase()) ?? '' })),
        deadlines: due.map((d) => ({ id: d.id, schoolId: d.schoolId ?? '', dueAt: d.dueAt, status: d.status, closedAt: d.closedAt })),
        mutualNeeds: needs.map((t) => t.label),
        funderOutcomes: outcomes.map((t) => t.label),
      };
    },
    async projectsEnded(from, to) {
      return (await proposals.approved()).filter((p) => from <= p.content.endDate && p.content.endDate <= to).map(project);
    },
    async project(id) {
      const loaded = await proposals.load(id);
      return loaded && loaded.agg.proposal.lifecycle === 'approved' ? project(loaded.agg.proposal) : undefined;
    },
  };
}

function project(p: Proposal): Project {
  return { id: p.id, title: p.content.title, leadSchoolId: p.leadSchoolId, pupils: p.content.pupils, staff: p.content.staff, outcome: p.content.outcome, endDate: p.content.endDate };
}

/**
 * The capabilities as a running bot would have them, without starting anything: for checks such as
 * "every verb a card names has a route" and "the manifest lists real commands".
 */
export function inspectCapabilities(deps: { config: Config; logger: Logger; tables: Tables; clock?: Clock }): Capabilities {
  const { config, logger, tables } = deps;
  const directory = new DirectoryStore(tables, config.coordinators, logger);
  const conversations = new ConversationStore(tables, logger);
  const proactive = new Proactive(createAdapter(config), config.bot?.id ?? '', conversations, logger);
  const clock = deps.clock ?? systemClock;
  const timers = new Timers(tables, logger);
  const deadlines = new DeadlineStore(tables, clock, logger);
  return wireCapabilities({
    config,
    logger,
    clock,
    tables,
    directory,
    conversations,
    proactive,
    timers,
    links: new SignedLinks(() => 'http://localhost', undefined),
    offerPolicy: DEFAULT_OFFER_POLICY,
    deadlines,
    outbox: new Outbox({ tables, timers, proactive, conversations, deadlines, clock, logger }),
  });
}

/** On close, how long to wait for TeachMeet follow-ups still queued (within the host's shutdown grace). */
const SHUTDOWN_FOLLOW_UPS_MS = 20_000;

export async function startTogether(options: TogetherOptions): Promise<Together> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const tables = new Tables(options.storage, options.tablePrefix ?? '');
  await tables.ensure(TABLES);

  const directory = new DirectoryStore(tables, config.coordinators, logger);
  const conversations = new ConversationStore(tables, logger, clock);
  const adapter = createAdapter(config);
  // One gate for every request to Teams from this instance, sharing the app's rate with the others.
  const gate = new SendGate({ ratePerSecond: config.sendRatePerSecond, ...(options.send ?? {}) }, tables, logger);
  const proactive = new Proactive(adapter, config.bot?.id ?? '', conversations, logger, gate);
  const timers = new Timers(tables, logger);
  // Until the server listens the port may be 0 ("any"); links are made later, from the real one.
  let listeningPort = options.port ?? config.port;
  // Every instance must sign links alike: the configured key, else one derived from the bot's secret.
  const linkKey = config.linkSigningKey ?? (config.bot?.password ? createHmac('sha256', config.bot.password).update('together/links').digest('base64') : undefined);
  const links = new SignedLinks(() => config.publicUrl ?? `http://localhost:${listeningPort}`, linkKey);
  const deadlines = new DeadlineStore(tables, clock, logger);
  // Turns in flight, counted by the server: what a change owes people waits while many are being answered.
  const turns = { inFlight: 0 };
  const outbox = new Outbox({ tables, timers, proactive, conversations, deadlines, clock, logger, answering: { turns: () => turns.inFlight } });

  const capabilities = wireCapabilities({ config, logger, clock, tables, directory, conversations, proactive, timers, links, offerPolicy: options.offerPolicy ?? DEFAULT_OFFER_POLICY, deadlines, outbox, announcementTuning: options.announcements });
  const inbound = new InboundLog(tables, logger);
  const bot = createBot({ config, logger, clock, directory, conversations, inbound, proactive, adapter, pressLimits: options.pressLimits, ...capabilities });

  const server = await startServer(
    {
      logger,
      handle: bot.handle,
      downloads: capabilities.downloads,
      turns,
      async health() {
        try {
          await tables.ping(DIRECTORY_TABLE);
          return { ok: true, detail: { storage: 'ok', partnership: config.partnershipName, mode: config.localMode ? 'local' : 'authenticated' } };
        } catch (err) {
          logger.warn({ err: { message: (err as Error).message } }, 'health check: storage did not answer');
          return { ok: false, detail: { storage: 'unavailable' } };
        }
      },
    },
    options.port ?? config.port,
    options.host ?? config.host,
  );
  listeningPort = server.port;

  const scheduler = new Scheduler(timers, capabilities.timers, clock, logger, options.schedulerIntervalMs ?? config.schedulerIntervalMs, [...capabilities.jobs, (now) => inbound.cleanUp(now)]);
  scheduler.start();
  gate.start();
  capabilities.announcements.start();

  return {
    url: server.url,
    port: server.port,
    tables,
    directory,
    conversations,
    deadlines,
    scheduler,
    teachmeets: capabilities.teachmeets,
    nudges: capabilities.nudges,
    announcements: capabilities.announcements.service,
    outbox,
    async crash() {
      outbox.halt();
      capabilities.announcements.service.halt();
      gate.halt();
      await server.close();
      await scheduler.stop();
    },
    async close() {
      await server.close();
      await scheduler.stop();
      await gate.stop();
      // Confirmations wait their turn within Teams' rate; a long backlog is not waited for past the grace (the outbox's pointers bring the rest back).
      // The announcements' too: their stop waits for the dispatches' deliveries (a send to thousands) and a report refresh queued behind them.
      const settled = await Promise.race([Promise.all([capabilities.announcements.stop(), capabilities.teachmeets.settle(), outbox.settle()]).then(() => true), sleep(SHUTDOWN_FOLLOW_UPS_MS, false, { ref: false })]);
      if (!settled) logger.warn({ graceMs: SHUTDOWN_FOLLOW_UPS_MS }, 'stopped with TeachMeet follow-ups unsent (card updates or confirmations)');
    },
  };
}
