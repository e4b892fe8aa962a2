import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingReferences } from '../src/migrations/references';
import type { FixtureWorkspace } from '../src/testing';
import { Workspace } from '../src/workspace';
import { fixtureWorkspace, SHARED, TEAMD } from './helpers';

describe("teamd:db:generate and a shared object shared's snapshot lacks", () => {
  let ws: FixtureWorkspace;
  beforeAll(() => {
    ws = fixtureWorkspace();
    // Shared gets a table in its schema files, but nobody ran db:generate.
    ws.write(
      `${SHARED}/src/schemas/venues.ts`,
      "import { pgTable, serial, text } from 'drizzle-orm/pg-core';\n\nexport const venues = pgTable('venues', { id: serial('id').primaryKey(), name: text('name') });\n",
    );
    ws.write(
      `${SHARED}/src/schemas/index.ts`,
      `${ws.read(`${SHARED}/src/schemas/index.ts`)}export * from './venues';\n`,
    );
    ws.write(
      `${TEAMD}/src/overlays/bookings.ts`,
      "import { venues } from '@large-event/database';\nimport { integer, pgTable, serial } from 'drizzle-orm/pg-core';\n\n" +
        "export const teamdBookings = pgTable('teamd_bookings', {\n  id: serial('id').primaryKey(),\n  venueId: integer('venue_id').references(() => venues.id),\n});\n",
    );
    ws.write(
      `${TEAMD}/src/overlays/index.ts`,
      `${ws.read(`${TEAMD}/src/overlays/index.ts`)}export * from './bookings';\n`,
    );
  });
  afterAll(() => ws.remove());

  it('writes the team migration but warns, naming the object and the shared generate script', async () => {
    const run = await ws.run(['generate', '--package', 'teamd', '--name', 'bookings']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      /warning: @teamd\/database references public\.venues \(teamd_bookings\.venue_id -> venues\.id\), which the latest snapshot of @large-event\/database lacks/,
    );
    expect(run.stderr).toMatch(/next: pnpm db:generate --name <what_changed>, then migrate/);
  });

  it('finds nothing once shared has generated its migration', async () => {
    expect((await ws.run(['generate', '--package', 'shared', '--name', 'venues'])).code).toBe(0);
    const workspace = Workspace.find(ws.root);
    expect(missingReferences(workspace, workspace.resolve('teamd'))).toEqual([]);
  });
});
