import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Comparing a presented secret (a token, a DaTtSs auth key) with the
 * configured ones in constant time: both sides are hashed to a fixed length
 * first, so neither the content nor the length of a configured secret leaks
 * through timing.
 */
export class SecretSet {
  readonly #digests: Buffer[];

  constructor(secrets: readonly string[]) {
    this.#digests = secrets.filter((secret) => secret !== '').map(digest);
  }

  /** False when no secret is configured: then nothing needs checking. */
  get required(): boolean {
    return this.#digests.length > 0;
  }

  matches(given: string | undefined): boolean {
    if (given === undefined) return false;
    const presented = digest(given);
    let found = false;
    // Every digest is compared, so the time does not say which one matched.
    for (const expected of this.#digests) found = timingSafeEqual(expected, presented) || found;
    return found;
  }
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}
