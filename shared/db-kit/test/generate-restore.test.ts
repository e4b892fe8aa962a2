import { mkdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { timestampName } from '../src/migrations/files';
import type { FixtureWorkspace } from '../src/testing';
import { fixtureWorkspace, TEAMD } from './helpers';

const OVERLAY = `${TEAMD}/src/overlays/team-specific-tables.ts`;
const JOURNAL = `${TEAMD}/drizzle/meta/_journal.json`;

let ws: FixtureWorkspace;

function files(): string[] {
  return ws
    .exec('find', [`${TEAMD}/drizzle`])
    .stdout.trim()
    .split('\n')
    .sort();
}

function addBudget(): void {
  ws.write(
    OVERLAY,
    ws
      .read(OVERLAY)
      .replace("description: text('description'),", "description: text('description'),\n  budget: integer('budget'),"),
  );
}

beforeEach(() => {
  ws = fixtureWorkspace();
  addBudget();
});
afterEach(() => ws.remove());

describe('generate leaves nothing half-written (D15)', () => {
  it('a 300-character --name is a usage error before drizzle-kit runs, and nothing is written', async () => {
    const before = { journal: ws.read(JOURNAL), files: files() };
    const run = await ws.run(['generate', '--package', 'teamd', '--name', 'a'.repeat(300)]);
    const out = run.stdout + run.stderr;
    expect(run.code, out).toBe(2);
    expect(out).toMatch(/--name .*300 characters/);
    expect(out).not.toMatch(/ENAMETOOLONG/);
    expect(ws.read(JOURNAL)).toBe(before.journal);
    expect(files()).toEqual(before.files);
  });

  it('when the final file cannot be written, the journal and snapshot are put back and the change is not lost', async () => {
    const before = { journal: ws.read(JOURNAL), files: files() };
    // Every name the migration could get in the next two minutes is taken (by a folder).
    const now = Date.now();
    for (let s = -2; s < 120; s++)
      mkdirSync(ws.path(`${TEAMD}/drizzle/${timestampName(new Date(now + s * 1000))}_budget.sql`));
    const taken = files();
    const run = await ws.run(['generate', '--package', 'teamd', '--name', 'budget']);
    const out = run.stdout + run.stderr;
    expect(run.code, out).not.toBe(0);
    expect(out).toMatch(/already exists/);
    expect(ws.read(JOURNAL)).toBe(before.journal);
    expect(files()).toEqual(taken);
    // The change is still there to generate: not "No schema changes".
    ws.exec('find', [`${TEAMD}/drizzle`, '-name', '*_budget.sql', '-type', 'd', '-delete']);
    const again = await ws.run(['generate', '--package', 'teamd', '--name', 'budget']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/_budget\.sql/);
  });
});

describe("generate shows drizzle-kit's whole error (D16)", () => {
  it("a schema that throws: the reason and the schema file's line, not drizzle-kit's last stack frames", async () => {
    ws.write(
      OVERLAY,
      ws
        .read(OVERLAY)
        .replace("budget: integer('budget'),", "budget: integer('budget').references(() => (undefined as any).id),"),
    );
    const run = await ws.run(['generate', '--package', 'teamd', '--name', 'budget']);
    const out = run.stdout + run.stderr;
    expect(run.code, out).not.toBe(0);
    expect(out).toMatch(/Cannot read properties of undefined \(reading 'id'\)/);
    expect(out).toMatch(/team-specific-tables\.ts:\d+/);
    expect(out).not.toMatch(/prepareAndMigratePg|Object\.handler|node_modules/);
  });
});
