import { spawn } from 'node:child_process';

/**
 * Python's pty module (python3 is on every machine the tests run on) gives bash a real terminal:
 * the kernel's line discipline then turns a pasted Ctrl-C into SIGINT and readline edits the
 * line, as in a reviewer's terminal. `sh -c` or a pipe would show none of that.
 */
const DRIVER = String.raw`
import os, pty, select, sys, time, signal
text = sys.stdin.buffer.read()
deadline = time.monotonic() + float(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvpe('bash', ['bash', '--norc', '--noprofile', '-i'], os.environ)
os.write(fd, text + b'\nexit 0\n')
out = b''
while time.monotonic() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.1)
    if ready:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    elif os.waitpid(pid, os.WNOHANG)[0] == pid:
        pid = 0
        break
if pid:
    time.sleep(0.1)
    if os.waitpid(pid, os.WNOHANG)[0] != pid:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        out += b'\n[the shell did not exit: still inside a quote?]\n'
sys.stdout.buffer.write(out)
`;

/**
 * Writes `text` into an interactive bash on a pseudo-terminal, as a paste does (raw bytes, then
 * Enter), then `exit`; resolves with what the terminal showed. A shell left waiting (an open
 * quote) is killed after `timeoutMs`, and the transcript says so.
 */
export function pasteIntoBash(text: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', DRIVER, String(timeoutMs / 1000)], {
      cwd,
      env: { ...env, PS1: '$ ', PS2: '> ', INPUTRC: '/dev/null', TERM: 'xterm', HISTFILE: '/dev/null' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`python3 pty driver exited ${code}: ${Buffer.concat(err).toString('utf8')}`));
    });
    child.stdin.end(Buffer.from(text, 'utf8'));
  });
}
