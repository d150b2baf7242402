/**
 * Packs lines into datagrams of at most `mtu` bytes, lines joined by `\n`,
 * in the order given. Each line must already fit on its own.
 */
export class DatagramPacker {
  readonly #mtu: number;
  readonly #emit: (datagram: Buffer) => void;
  #lines: string[] = [];
  #bytes = 0;

  constructor(mtu: number, emit: (datagram: Buffer) => void) {
    this.#mtu = mtu;
    this.#emit = emit;
  }

  /** Adds a line, first sending the datagram in progress when the line would not fit in it. */
  push(line: string): void {
    const bytes = Buffer.byteLength(line);
    const joined = this.#lines.length === 0 ? bytes : this.#bytes + 1 + bytes;
    if (joined > this.#mtu) {
      this.flush();
      this.#bytes = bytes;
    } else {
      this.#bytes = joined;
    }
    this.#lines.push(line);
  }

  /** Sends the datagram in progress, if any. */
  flush(): void {
    if (this.#lines.length === 0) return;
    const datagram = Buffer.from(this.#lines.join('\n'));
    this.#lines = [];
    this.#bytes = 0;
    this.#emit(datagram);
  }

  /** Drops the datagram in progress; returns how many lines it held. */
  discard(): number {
    const lines = this.#lines.length;
    this.#lines = [];
    this.#bytes = 0;
    return lines;
  }
}
