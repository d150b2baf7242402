/** The writer thread's entry: serves store/writer-host.ts over the thread's port. */
import { parentPort, workerData } from 'node:worker_threads';
import type { WriterData } from './writer-protocol.js';
import { hostWriter } from './writer-host.js';

hostWriter(parentPort as NonNullable<typeof parentPort>, workerData as WriterData);
