import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** The kernel's tables of UDP sockets, IPv4 and IPv6 (Linux). */
const SOCKET_TABLES = ['net/udp', 'net/udp6'];

/**
 * Datagrams the kernel dropped at the daemon's UDP sockets because their
 * receive buffer was full: lines lost before dattss could count them. Read
 * from the `drops` column of /proc/net/udp and /proc/net/udp6 (Linux), for
 * the sockets on the daemon's port that this process holds (/proc/self/fd),
 * so another process on the same port with SO_REUSEPORT is not counted.
 */
export class KernelUdpDrops {
  readonly #port: number;
  readonly #procRoot: string;
  /** Each socket's count as last read, by inode: a receive thread's socket that is replaced takes its count with it. */
  #lastBySocket = new Map<string, number>();
  #total = 0;
  /**
   * The inodes on the port known to be this process's, and known not to be:
   * /proc/self/fd is read only when a socket appears on the port, since the
   * daemon may hold a thousand TCP and HTTP connections (a readlink each).
   */
  #own = new Set<string>();
  #foreign = new Set<string>();

  /** `procRoot` is /proc but in tests. */
  constructor(port: number, procRoot = '/proc') {
    this.#port = port;
    this.#procRoot = procRoot;
  }

  /**
   * Drops since the sockets were bound, summed over every socket the daemon
   * has had on the port, so the total never goes down; undefined where
   * /proc cannot tell (not Linux).
   */
  read(): number | undefined {
    const onPort = new Map<string, number>();
    let tablesRead = 0;
    for (const table of SOCKET_TABLES) {
      let text: string;
      try {
        text = readFileSync(join(this.#procRoot, table), 'latin1');
      } catch {
        // IPv6 may be disabled.
        continue;
      }
      tablesRead++;
      for (const [inode, drops] of socketDrops(text, this.#port)) onPort.set(inode, drops);
    }
    if (tablesRead === 0) return undefined;
    if ([...onPort.keys()].some((inode) => !this.#own.has(inode) && !this.#foreign.has(inode)) && !this.#learnOwners(onPort)) return undefined;
    const bySocket = new Map<string, number>();
    for (const [inode, drops] of onPort) {
      if (!this.#own.has(inode)) continue;
      bySocket.set(inode, drops);
      this.#total += drops - (this.#lastBySocket.get(inode) ?? 0);
    }
    this.#lastBySocket = bySocket;
    return this.#total;
  }

  /** Sorts the sockets on the port into this process's and others' by /proc/self/fd; false without it. */
  #learnOwners(onPort: ReadonlyMap<string, number>): boolean {
    const fdDir = join(this.#procRoot, 'self/fd');
    let fds: string[];
    try {
      fds = readdirSync(fdDir);
    } catch {
      return false;
    }
    const held = new Set<string>();
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(join(fdDir, fd));
      } catch {
        // Closed since the directory was read.
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode !== undefined) held.add(inode);
    }
    this.#own = new Set([...onPort.keys()].filter((inode) => held.has(inode)));
    this.#foreign = new Set([...onPort.keys()].filter((inode) => !held.has(inode)));
    return true;
  }
}

/**
 * The `drops` column of a /proc/net/udp table, by inode, for the rows bound
 * to `port`. A row reads
 * `sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops`,
 * the local address as hex `address:port`.
 */
export function socketDrops(table: string, port: number): Map<string, number> {
  const portSuffix = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const drops = new Map<string, number>();
  for (const line of table.split('\n').slice(1)) {
    const columns = line.trim().split(/\s+/);
    if (columns.length < 13 || !columns[1]?.endsWith(portSuffix)) continue;
    const count = Number(columns[12]);
    if (Number.isSafeInteger(count)) drops.set(columns[9] as string, count);
  }
  return drops;
}
