import type { Hash } from 'node:crypto';

/**
 * node:crypto, loaded on first use. Loading it costs ~3 ms, which a module importing it pays when it loads: on a
 * no-op migrate that was before the connection could start. Hashes are made while the server starts the session.
 */
function crypto(): typeof import('node:crypto') {
  return process.getBuiltinModule('node:crypto') as typeof import('node:crypto');
}

export function createHash(algorithm: string): Hash {
  return crypto().createHash(algorithm);
}

export function randomBytes(size: number): Buffer {
  return crypto().randomBytes(size);
}
