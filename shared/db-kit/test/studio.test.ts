import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pickFreePort } from '../src/server/ports';
import { createTestDatabase, type TestDatabase } from '../src/testing';

// drizzle-kit studio serves only an API locally; its UI is a web page from local.drizzle.studio,
// which cannot be loaded offline. So we prove the server answers with Team D's whole schema.
describe('teamd:db:studio', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrate: 'teamd', label: 'studio' });
  });
  afterAll(() => db.drop());

  it('serves the studio API over the shared and Team D schema files', async () => {
    const port = await pickFreePort(4990);
    const bin = join(__dirname, '..', 'bin', 'db-kit.mjs');
    const child = spawn(process.execPath, [bin, 'studio', '--package', 'teamd', '--port', String(port)], {
      env: { ...process.env, DATABASE_URL: db.url },
      stdio: 'ignore',
      detached: true,
    });
    try {
      let answer: { dialect?: string; schemaFiles?: Array<{ content: string }> } | undefined;
      for (let attempt = 0; attempt < 120 && !answer; attempt++) {
        answer = await fetch(`http://127.0.0.1:${port}/`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"type":"init"}',
        })
          .then((r) => (r.ok ? (r.json() as Promise<typeof answer>) : undefined))
          .catch(() => undefined);
        if (!answer) await new Promise((r) => setTimeout(r, 250));
      }
      expect(answer?.dialect).toBe('postgresql');
      const files = answer!.schemaFiles!.map((f) => f.content).join('\n');
      expect(files).toContain("from './users'");
      expect(files).toContain("from './team-specific-tables'");
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
    }
  });
});
