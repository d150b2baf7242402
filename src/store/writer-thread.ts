/** The writer thread's entry: serves store/writer-host.ts over the thread's port. */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { WRITER_NICE, type WriterData } from './writer-protocol.js';
import { hostWriter } from './writer-host.js';

lowerPriority();
hostWriter(parentPort as NonNullable<typeof parentPort>, workerData as WriterData);

/** Linux sets a nice value per thread, named by its thread id; elsewhere the thread keeps the process's. */
function lowerPriority(): void {
  try {
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(threadId, WRITER_NICE);
  } catch {
    // No /proc/thread-self (not Linux), or not allowed: the writer shares the process's priority.
  }
}
