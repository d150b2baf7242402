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
    const inodes = this.#socketInodes();
    if (inodes === undefined) return undefined;
    const bySocket = new Map<string, number>();
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
      for (const [inode, drops] of socketDrops(text, this.#port, inodes)) bySocket.set(inode, drops);
    }
    if (tablesRead === 0) return undefined;
    for (const [inode, drops] of bySocket) this.#total += drops - (this.#lastBySocket.get(inode) ?? 0);
    this.#lastBySocket = bySocket;
    return this.#total;
  }

  /** Inodes of the sockets this process holds, as strings; undefined without /proc. */
  #socketInodes(): Set<string> | undefined {
    const fdDir = join(this.#procRoot, 'self/fd');
    let fds: string[];
    try {
      fds = readdirSync(fdDir);
    } catch {
      return undefined;
    }
    const inodes = new Set<string>();
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(join(fdDir, fd));
      } catch {
        // Closed since the directory was read.
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode !== undefined) inodes.add(inode);
    }
    return inodes;
  }
}

/**
 * The `drops` column of a /proc/net/udp table, by inode, for the rows bound
 * to `port` whose inode is in `inodes`. A row reads
 * `sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops`,
 * the local address as hex `address:port`.
 */
export function socketDrops(table: string, port: number, inodes: ReadonlySet<string>): Map<string, number> {
  const portSuffix = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const drops = new Map<string, number>();
  for (const line of table.split('\n').slice(1)) {
    const columns = line.trim().split(/\s+/);
    const inode = columns[9];
    if (columns.length < 13 || !columns[1]?.endsWith(portSuffix) || inode === undefined || !inodes.has(inode)) continue;
    const count = Number(columns[12]);
    if (Number.isSafeInteger(count)) drops.set(inode, count);
  }
  return drops;
}
