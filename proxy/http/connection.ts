import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * What the proxy knows of one client connection: how many requests came on it, the first whose
 * answer closes it, and what waits for it to close (see `onceGone`).
 */
interface Turns { arrived: number; closesAfter: number; waiting?: Array<() => void> }

/** Kept on the socket itself, as the reply is kept on its response (handler.ts): no table to outlive it. */
const TURNS = Symbol('turns');
type Carrying = Socket & { [TURNS]?: Turns };

function turnsOf(socket: Socket): Turns {
  const carrying = socket as Carrying;
  carrying[TURNS] ??= { arrived: 0, closesAfter: Number.POSITIVE_INFINITY };
  return carrying[TURNS];
}

/**
 * The requests of one connection in their order. Node's server reads pipelined requests ahead and
 * hands each over at once, but answers them in order and closes the connection after the first
 * answer that says `Connection: close`: a request behind that answer would be executed and never
 * answered. So at shutdown an answer closes the connection only when no request is pipelined
 * behind it yet, and a request that arrives behind an answer that closes is refused unforwarded.
 */
export class Connection {
  private readonly turns: Turns;
  /** This request's place on its connection, from 1. */
  private readonly turn: number;

  constructor(socket: Socket) {
    this.turns = turnsOf(socket);
    this.turn = ++this.turns.arrived;
  }

  /** Whether an earlier answer on this connection closes it: this request would get no answer. */
  get behindClose(): boolean {
    return this.turns.closesAfter < this.turn;
  }

  /**
   * Whether this request's answer keeps the connection open: what the client asked (`wanted`), and,
   * once the proxy is `draining`, only for a request already waiting behind it. An answer that
   * closes is remembered, so that no later request on the connection is forwarded.
   */
  keepsAlive(wanted: boolean, draining: boolean): boolean {
    const alive = wanted && (!draining || this.turns.arrived > this.turn);
    if (!alive) this.turns.closesAfter = Math.min(this.turns.closesAfter, this.turn);
    return alive;
  }
}

/**
 * Calls `gone` once `res` is closed, whether delivered or abandoned. A response queued behind
 * another on a pipelined connection has no socket yet, and Node never closes it when the client
 * leaves: for that one the connection's own close counts too, through one listener per connection
 * however many requests are queued on it. `gone` may run twice (the response closed, then its
 * connection), and must not mind.
 */
export function onceGone(res: ServerResponse, gone: () => void): void {
  res.once('close', gone);
  if (res.socket) return;
  const { socket } = res.req;
  if (socket.destroyed) return void gone();
  const turns = turnsOf(socket);
  if (!turns.waiting) {
    const waiting: Array<() => void> = [];
    turns.waiting = waiting;
    socket.once('close', () => { for (const run of waiting.splice(0)) run(); });
  }
  turns.waiting.push(gone);
}
