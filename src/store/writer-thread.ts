/** The writer thread's entry: serves store/writer-host.ts over the thread's port. */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { Pacing } from '../flush/write-backlog.js';
import { WRITER_NICE, type WriterData } from './writer-protocol.js';
import { hostWriter } from './writer-host.js';

/**
 * Nothing waits for this thread's turns but the daemon's messages, so it
 * writes transactions of 500 rows (a counter's row costs ~2 µs less than in
 * transactions of 25, bench/README.md) for up to 50 ms a turn.
 */
const THREAD_PACING: Pacing = { chunkRows: 500, sliceBudgetMs: 50 };

lowerPriority();
hostWriter(parentPort as NonNullable<typeof parentPort>, workerData as WriterData, { pacing: THREAD_PACING });

/** Linux sets a nice value per thread, named by its thread id; elsewhere the thread keeps the process's. */
function lowerPriority(): void {
  try {
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(threadId, WRITER_NICE);
  } catch {
    // No /proc/thread-self (not Linux), or not allowed: the writer shares the process's priority.
  }
}
