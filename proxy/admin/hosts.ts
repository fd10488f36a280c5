import { isIP } from 'node:net';

/**
 * Whether the admin port answers a request that names `host` (its Host header), against DNS
 * rebinding: a page on the internet whose name is made to resolve to an address that reaches
 * the admin port (through a tunnel, a VPN, a developer's laptop) sends its own name as Host, so a
 * name the operator did not list is refused. Always answered: loopback names, and addresses,
 * which no rebinding page can send (the ALB's health check sends the task's IP, the metrics
 * collector `localhost`); a request without a Host names nothing a page could have chosen.
 */
export function hostCheck(allowed: readonly string[]): (host: string | undefined) => boolean {
  const names = new Set(allowed.map(normalised));
  return (host) => {
    if (host === undefined) return true;
    const name = normalised(withoutPort(host));
    return name === 'localhost' || name.endsWith('.localhost') || isIP(name.replace(/^\[(.*)\]$/, '$1')) !== 0 || names.has(name);
  };
}

function withoutPort(host: string): string {
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d*$/, '');
}

/** Names compare without case and without the root's trailing dot. */
function normalised(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}
