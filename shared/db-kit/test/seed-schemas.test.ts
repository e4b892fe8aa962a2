import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type FixtureWorkspace, type TestDatabase } from '../src/testing';
import { query, TEAMD, fixtureWorkspace } from './helpers';

// What real schemas hold and drizzle-seed alone does not fill.
const OVERLAY = `import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn, check, customType, foreignKey, integer, pgTable, primaryKey, serial, text, timestamp, varchar,
} from 'drizzle-orm/pg-core';
import { users } from '@large-event/database';

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

export const teamdCategories = pgTable('teamd_categories', {
  id: serial('id').primaryKey(),
  name: varchar('name', { length: 80 }).notNull(),
  parentId: integer('parent_id').references((): AnyPgColumn => teamdCategories.id),
  search: tsvector('search').generatedAlwaysAs(sql\`to_tsvector('simple', "name")\`),
});

export const teamdSlots = pgTable(
  'teamd_slots',
  {
    room: varchar('room', { length: 20 }).notNull(),
    slot: integer('slot').notNull(),
    kind: text('kind', { enum: ['talk', 'workshop', 'break'] }).notNull(),
    startsAt: timestamp('starts_at', { withTimezone: true }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.room, t.slot] }), check('teamd_slots_order', sql\`\${t.endsAt} > \${t.startsAt}\`)],
);

export const teamdBookings = pgTable(
  'teamd_bookings',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    room: varchar('room', { length: 20 }).notNull(),
    slot: integer('slot').notNull(),
    contactEmail: varchar('contact_email', { length: 255 }).notNull(),
    userId: integer('user_id').references(() => users.id),
  },
  (t) => [
    foreignKey({
      name: 'teamd_bookings_slot_fk',
      columns: [t.room, t.slot],
      foreignColumns: [teamdSlots.room, teamdSlots.slot],
    }),
  ],
);

/** Its values can never pass the check: seed must name it and go on. */
export const teamdImpossible = pgTable(
  'teamd_impossible',
  { id: serial('id').primaryKey(), code: varchar('code', { length: 20 }).notNull() },
  (t) => [check('teamd_impossible_code_check', sql\`\${t.code} = 'never generated'\`)],
);
`;

const REFINEMENTS = `export default (f) => ({
  teamd_projects: { name: f.valuesFromArray({ values: ['Apollo', 'Gemini', 'Mercury'] }) },
  teamd_categories: { name: ['Music', 'Talks', 'Food'] },
});
`;

describe('seed on real schemas', async () => {
  let ws: FixtureWorkspace;
  let db: TestDatabase;
  const env = () => ({ DATABASE_URL: db.url });
  const seed = (...args: string[]) => ws.run(['seed', ...args], env());
  const count = async (table: string) =>
    Number((await query<{ n: string }>(db.url, `select count(*) n from ${table}`))[0]!.n);

  beforeAll(async () => {
    ws = fixtureWorkspace();
    db = await createTestDatabase({ label: 'seed_schemas' });
    ws.write(`${TEAMD}/src/overlays/real.ts`, OVERLAY);
    ws.write(`${TEAMD}/src/overlays/index.ts`, `${ws.read(`${TEAMD}/src/overlays/index.ts`)}export * from './real';\n`);
    ws.write(`${TEAMD}/src/seed.ts`, REFINEMENTS);
    const manifest = JSON.parse(ws.read(`${TEAMD}/package.json`));
    manifest.dbKit.seed = { refinements: 'src/seed.ts' };
    ws.write(`${TEAMD}/package.json`, JSON.stringify(manifest, null, 2));
    const generate = await ws.run(['generate', '--package', 'teamd', '--name', 'real']);
    expect(generate.code, generate.stdout + generate.stderr).toBe(0);
    const migrate = await ws.run(['migrate', '--all'], env());
    expect(migrate.code, migrate.stderr).toBe(0);
  });
  afterAll(async () => {
    await db.drop();
    ws.remove();
  });

  it('fills generated, self-referencing and composite-key tables; names the one it cannot fill', async () => {
    const run = await seed('--count', '6');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Could not fill teamd_impossible: .*teamd_impossible_code_check/);
    expect(run.stderr).toMatch(/--skip-table teamd_impossible/);
    for (const table of ['users', 'events', 'teamd_categories', 'teamd_slots', 'teamd_bookings', 'teamd_user_settings'])
      expect(await count(table), table).toBe(6);
    expect(await count('teamd_impossible')).toBe(0);
    // The tree: every row but the first has a parent, an earlier row.
    const tree = await query<{ id: number; parent_id: number | null }>(
      db.url,
      'select id, parent_id from teamd_categories order by id',
    );
    expect(tree.filter((r) => r.parent_id === null).map((r) => r.id)).toEqual([1]);
    expect(tree.every((r) => r.parent_id === null || r.parent_id < r.id)).toBe(true);
    const searchable = await query(db.url, 'select 1 from teamd_categories where search is null');
    expect(searchable).toEqual([]);
  });

  it('gives values that look real: emails, enum-like text, an end after its start, a package refinement', async () => {
    const bookings = await query<{ contact_email: string }>(db.url, 'select contact_email from teamd_bookings');
    for (const b of bookings) expect(b.contact_email).toMatch(/^[^@\s]+@[^@\s]+\.[a-z.]+$/);
    const slots = await query<{ kind: string; ordered: boolean }>(
      db.url,
      'select kind, ends_at > starts_at as ordered from teamd_slots',
    );
    for (const s of slots) {
      expect(['talk', 'workshop', 'break']).toContain(s.kind);
      expect(s.ordered).toBe(true);
    }
    const events = await query<{ bad: string }>(
      db.url,
      'select count(*) bad from events where ends_at is not null and ends_at <= starts_at',
    );
    expect(Number(events[0]!.bad)).toBe(0);
    const projects = await query<{ name: string }>(db.url, 'select distinct name from teamd_projects');
    for (const p of projects) expect(['Apollo', 'Gemini', 'Mercury']).toContain(p.name);
    const categories = await query<{ name: string }>(db.url, 'select name from teamd_categories order by id limit 3');
    expect(categories.map((c) => c.name)).toEqual(['Music', 'Talks', 'Food']);
  });

  it('--package, --skip-table and dbKit.seed.skip leave tables and their rows alone', async () => {
    await query(db.url, "update users set name = 'kept' where id = 1");
    const manifest = JSON.parse(ws.read(`${TEAMD}/package.json`));
    manifest.dbKit.seed.skip = ['teamd_impossible'];
    ws.write(`${TEAMD}/package.json`, JSON.stringify(manifest, null, 2));
    const run = await seed('--package', 'teamd', '--skip-table', 'teamd_categories', '--count', '4', '--yes');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Left out: teamd_categories \(--skip-table\), teamd_impossible \("dbKit.seed.skip"/);
    expect((await query<{ name: string }>(db.url, 'select name from users where id = 1'))[0]!.name).toBe('kept');
    expect(await count('users')).toBe(6);
    expect(await count('teamd_slots')).toBe(4);
    expect(await count('teamd_categories')).toBe(6); // left out: its rows stay

    // Left out, but it references a table seed empties: its rows would go, so nothing happens.
    const refused = await seed('--package', 'teamd', '--skip-table', 'teamd_bookings', '--yes');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/teamd_bookings is not seeded, has rows, and references a table seed would empty/);
    expect(await count('teamd_slots')).toBe(4);
  });

  it('asks before replacing rows it finds, though the statistics say none (after pg_stat_reset)', async () => {
    await query(db.url, "insert into users (email) values ('real-person@example.com')");
    await query(db.url, 'select pg_stat_reset()');
    const before = await count('users');
    const run = await seed('--count', '3');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--yes/);
    expect(await count('users')).toBe(before);
  });

  it('an edited refinements file counts at the next seed in the same process', async () => {
    ws.write(`${TEAMD}/src/seed.ts`, REFINEMENTS.replace("['Apollo', 'Gemini', 'Mercury']", "['Vostok']"));
    const run = await seed('--count', '3', '--skip-table', 'teamd_impossible', '--yes');
    expect(run.code, run.stderr).toBe(0);
    const projects = await query<{ name: string }>(db.url, 'select distinct name from teamd_projects');
    expect(projects.map((p) => p.name)).toEqual(['Vostok']);
  });
});
