import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { FromInstance, InstanceCounts, InstanceSpec, ToInstance } from './instance';

/**
 * The load generator's side of bench/instance.ts: one child process per bot, started once and reused
 * for every run (a fresh instance on fresh tables each time), so that each bot has its own event loop
 * and its own share of the CPUs, as in a deployment, and the load generator's work is not counted
 * in the bots' times, nor theirs in its.
 */
export class BotProcess {
  private readonly waiting = new Map<number, (m: FromInstance) => void>();
  private nextId = 1;
  /** Where the running instance listens (…/api/messages); empty when none runs. */
  url = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly name: string,
  ) {
    child.on('message', (m: FromInstance) => this.waiting.get(m.id)?.(m));
  }

  static async start(name: string): Promise<BotProcess> {
    const child = fork(path.join(__dirname, 'instance.js'), [], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const p = new BotProcess(child, name);
    await new Promise<void>((resolve, reject) => {
      p.waiting.set(0, () => resolve());
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`${name}: the bot process exited (${code}) before it was ready`)));
    });
    child.removeAllListeners('exit');
    child.removeAllListeners('error');
    return p;
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** One request over IPC; gives up after `timeoutMs` (a bot that stops answering must not hang the bench). */
  private ask(m: ToInstance, timeoutMs = 120_000): Promise<FromInstance & { type: 'ok' }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(m.id);
        reject(new Error(`${this.name}: no answer to '${m.type}' within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiting.set(m.id, (answer) => {
        clearTimeout(timer);
        this.waiting.delete(m.id);
        if (answer.type === 'ok') resolve(answer);
        else reject(new Error(`${this.name}: ${answer.message}`));
      });
      this.child.send(m);
    });
  }

  /** Starts a fresh instance in this process (closing the one before); resolves with its endpoint. */
  async run(spec: InstanceSpec): Promise<string> {
    const answer = await this.ask({ type: 'start', id: this.nextId++, spec });
    this.url = answer.url ?? '';
    return this.url;
  }

  /** Once the instance's storage has gone quiet: its counts from zero. */
  async resetCounts(): Promise<void> {
    await this.ask({ type: 'reset', id: this.nextId++ });
  }

  /** Once the instance's storage has gone quiet: what it did since resetCounts(). */
  async counts(): Promise<InstanceCounts> {
    const answer = await this.ask({ type: 'counts', id: this.nextId++ });
    return answer.counts ?? { calls: 0, ops: [], turnCalls: 0, followUpCalls: 0, teachMeetCalls: 0, conflicts: 0, problems: [] };
  }

  async warm(people: readonly { aadObjectId: string; name: string }[]): Promise<void> {
    await this.ask({ type: 'warm', id: this.nextId++, people });
  }

  async stopInstance(): Promise<void> {
    await this.ask({ type: 'stop', id: this.nextId++ });
    this.url = '';
  }

  /** CPU time (ms) this process has used so far (Linux /proc; NaN elsewhere). */
  cpuMs(): number {
    return processCpuMs(this.pid);
  }

  async exit(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

/** utime + stime of a process, in ms (Linux /proc; NaN elsewhere or when it has gone). */
export function processCpuMs(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

/** The pid of this process's child whose command line contains `needle` (e.g. Azurite's table service). */
export function childPid(needle: string): number | undefined {
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid !== process.pid) continue;
        if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) return Number(entry);
      } catch {
        // a process that went away meanwhile
      }
    }
  } catch {
    // no /proc
  }
  return undefined;
}
