import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/** The last bytes a process wrote, kept to explain why it failed to start or stopped. */
const TAIL_BYTES = 4096;

export interface Started {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** The match of the `ready` pattern in the process's output (its URL, say). */
  readonly ready: RegExpExecArray;
  /** What it wrote last, stdout and stderr together. */
  tail(): string;
}

export interface StartOptions {
  readonly cwd?: string;
  /** A line the process writes (stdout or stderr) once it serves; absent: ready once spawned. */
  readonly ready?: RegExp;
  readonly timeoutMs?: number;
}

/**
 * Every process the bench starts, so that all of them are stopped at the end, also when a row
 * throws or the bench is interrupted. Their output is drained all along: a child whose pipe fills
 * up blocks on its next write, which would show up as a proxy stall in the figures.
 */
export class Children {
  private readonly running = new Set<ChildProcess>();
  /** Processes the bench did not spawn itself but must end (nginx's worker, forked by its master). */
  private readonly adopted = new Set<number>();

  async start(name: string, command: string, args: readonly string[], options: StartOptions = {}): Promise<Started> {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-TAIL_BYTES);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    // Registered before it is ready, so that a start that times out is still stopped at the end.
    this.running.add(child);
    child.once('exit', () => this.running.delete(child));
    child.once('error', () => this.running.delete(child));
    const tail = () => output;
    const ready = await this.awaitReady(name, child, tail, options);
    return { name, child, pid: child.pid as number, ready, tail };
  }

  /** Runs a command to its end (wrk, say) and returns its output; it too is stopped by stopAll(). */
  async run(command: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8'); });
    child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
    try {
      const [code] = (await once(child, 'close')) as [number | null];
      return { code, stdout, stderr };
    } finally {
      this.running.delete(child);
    }
  }

  /** The running process of this id, if the bench started it. */
  find(pid: number): ChildProcess | undefined {
    return [...this.running].find((child) => child.pid === pid);
  }

  /** Also ends `pid` at the end (SIGKILL), in case its parent did not take it down. */
  adopt(pid: number): void {
    this.adopted.add(pid);
  }

  private async awaitReady(name: string, child: ChildProcess, tail: () => string, options: StartOptions): Promise<RegExpExecArray> {
    const timeoutMs = options.timeoutMs ?? 20_000;
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        clearInterval(poll);
        reject(new Error(`${name} ${why}; its output:\n${tail()}`));
      };
      const deadline = Date.now() + timeoutMs;
      // Polling the kept output covers a ready line split across chunks, on either stream.
      const poll = setInterval(() => {
        const match = options.ready ? options.ready.exec(tail()) : /^/.exec('');
        if (match && child.pid !== undefined) {
          clearInterval(poll);
          resolve(match);
        } else if (child.exitCode !== null || child.signalCode !== null) fail(`exited (${child.exitCode ?? child.signalCode}) before it was ready`);
        else if (Date.now() > deadline) fail(`was not ready within ${timeoutMs} ms`);
      }, 20);
      child.once('error', (error) => fail(`could not start: ${error.message}`));
    });
  }

  /** Stops one process: `signal` first, SIGKILL if it has not exited within `graceMs`. */
  async stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 3_000): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!done) {
      child.kill('SIGKILL');
      await exited;
    }
  }

  /** Stops every process still running: the bench's `finally`. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.running].map((child) => this.stop(child)));
    this.killAdopted();
  }

  /** For a signal handler, which cannot wait: SIGKILL to everything at once. */
  killAllNow(): void {
    for (const child of this.running) child.kill('SIGKILL');
    this.killAdopted();
  }

  private killAdopted(): void {
    for (const pid of this.adopted) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone, as it should be once its parent stopped.
      }
    }
    this.adopted.clear();
  }
}
