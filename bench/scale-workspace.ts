// The scale benchmarks' workspace: 12 teams x 20 tables, 500 migrations, written directly as drizzle-kit
// would (SQL, journal, a minimal snapshot per migration, a schema module). Used by scale.ts and engines.ts.
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { Workspace } from '@large-event/db-kit';

export interface Shape {
  teams: number;
  tablesPerTeam: number;
  sharedMigrations: number;
  /** Per team: one migration per table, then alterations up to this count. */
  migrationsPerTeam: number;
}

export const FULL: Shape = { teams: 12, tablesPerTeam: 20, sharedMigrations: 20, migrationsPerTeam: 40 };
export const QUARTER: Shape = { teams: 3, tablesPerTeam: 20, sharedMigrations: 20, migrationsPerTeam: 35 };
export const total = (s: Shape) => s.sharedMigrations + s.teams * s.migrationsPerTeam;

export const realRoot = Workspace.find().root;
export const engineDir = join(realRoot, 'shared', 'db-kit');
export const bin = join(engineDir, 'bin', 'db-kit.cjs');

function write(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

/** `YYYYMMDD_HHMMSS` of base + minutes, UTC. */
function stamp(minutes: number): { tag: string; when: number } {
  const when = Date.UTC(2027, 0, 1) + minutes * 60_000;
  const iso = new Date(when).toISOString();
  return {
    tag: `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}_${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`,
    when,
  };
}

interface TableState {
  columns: string[];
}

/**
 * A schema package's files, written directly: SQL, drizzle's journal, a minimal valid snapshot
 * per migration (tables and columns, no indexes), and the schema module.
 */
class PackageWriter {
  private readonly entries: Array<{ idx: number; version: string; when: number; tag: string; breakpoints: boolean }> =
    [];
  private readonly tables = new Map<string, TableState>();
  private prevId = '00000000-0000-0000-0000-000000000000';

  constructor(
    readonly dir: string,
    readonly manifest: Record<string, unknown>,
  ) {}

  add(minutes: number, slug: string, statements: string[], change: (tables: Map<string, TableState>) => void): void {
    const { tag, when } = stamp(minutes);
    const name = `${tag}_${slug}`;
    write(join(this.dir, 'drizzle', `${name}.sql`), statements.join('--> statement-breakpoint\n'));
    change(this.tables);
    const idx = this.entries.length;
    this.entries.push({ idx, version: '7', when, tag: name, breakpoints: true });
    const id = randomUUID();
    const tables = Object.fromEntries(
      [...this.tables].map(([table, state]) => [
        `public.${table}`,
        {
          name: table,
          schema: '',
          columns: Object.fromEntries(
            state.columns.map((c) => [
              c,
              { name: c, type: c === 'id' ? 'serial' : 'integer', primaryKey: c === 'id', notNull: c === 'id' },
            ]),
          ),
          indexes: {},
          foreignKeys: {},
          compositePrimaryKeys: {},
          uniqueConstraints: {},
          policies: {},
          checkConstraints: {},
          isRLSEnabled: false,
        },
      ]),
    );
    const snapshot = {
      id,
      prevId: this.prevId,
      version: '7',
      dialect: 'postgresql',
      tables,
      enums: {},
      schemas: {},
      sequences: {},
      roles: {},
      policies: {},
      views: {},
      _meta: { columns: {}, schemas: {}, tables: {} },
    };
    write(
      join(this.dir, 'drizzle', 'meta', `${String(idx).padStart(4, '0')}_snapshot.json`),
      JSON.stringify(snapshot, null, 2),
    );
    this.prevId = id;
  }

  finish(dependencies: Record<string, string>): void {
    write(
      join(this.dir, 'drizzle', 'meta', '_journal.json'),
      JSON.stringify({ version: '7', dialect: 'postgresql', entries: this.entries }, null, 2),
    );
    write(
      join(this.dir, 'package.json'),
      JSON.stringify({ ...this.manifest, type: 'module', private: true, dependencies }, null, 2),
    );
    const lines = [`import { integer, pgTable, serial } from 'drizzle-orm/pg-core';`, ''];
    for (const [table, state] of this.tables) {
      const columns = state.columns.map(
        (c) => `  ${c}: ${c === 'id' ? "serial('id').primaryKey()" : `integer('${c}')`},`,
      );
      lines.push(
        `export const ${table.replace(/_(\w)/g, (_, ch: string) => ch.toUpperCase())} = pgTable('${table}', {`,
        ...columns,
        '});',
        '',
      );
    }
    write(join(this.dir, 'src', 'schema.ts'), lines.join('\n'));
    // What pnpm install would link: drizzle-orm for the schema module.
    mkdirSync(join(this.dir, 'node_modules'), { recursive: true });
    symlinkSync(
      join(realRoot, 'shared', 'database', 'node_modules', 'drizzle-orm'),
      join(this.dir, 'node_modules', 'drizzle-orm'),
    );
  }
}

export function generateWorkspace(root: string, shape: Shape): void {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  write(join(root, 'package.json'), JSON.stringify({ name: 'bench-scale', private: true, type: 'module' }, null, 2));
  write(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - shared/*\n  - teams/*/src/database\n');
  write(join(root, 'tsconfig.base.json'), '{}');
  symlinkSync(join(realRoot, 'node_modules'), join(root, 'node_modules'));
  mkdirSync(join(root, 'shared'), { recursive: true });
  symlinkSync(engineDir, join(root, 'shared', 'db-kit'));

  const shared = new PackageWriter(join(root, 'shared', 'database'), {
    name: '@bench/database',
    dbKit: {
      role: 'shared',
      alias: 'shared',
      schema: 'src/schema.ts',
      out: 'drizzle',
      migrationsTable: '__drizzle_migrations',
    },
  });
  shared.add(0, 'users', ['CREATE TABLE "users" ("id" serial PRIMARY KEY NOT NULL, "email" integer);'], (t) =>
    t.set('users', { columns: ['id', 'email'] }),
  );
  for (let i = 1; i < shape.sharedMigrations; i++) {
    shared.add(i, `users_c${i}`, [`ALTER TABLE "users" ADD COLUMN "c${i}" integer;`], (t) =>
      t.get('users')!.columns.push(`c${i}`),
    );
  }
  shared.finish({});

  for (let team = 1; team <= shape.teams; team++) {
    const alias = `team${String(team).padStart(2, '0')}`;
    const pkg = new PackageWriter(join(root, 'teams', alias, 'src', 'database'), {
      name: `@${alias}/database`,
      dbKit: {
        role: 'team',
        alias,
        tablePrefix: `${alias}_`,
        schema: 'src/schema.ts',
        out: 'drizzle',
        migrationsTable: `__${alias}_migrations`,
      },
    });
    for (let m = 0; m < shape.migrationsPerTeam; m++) {
      // Teams interleave in time, as merged branches do.
      const minutes = shape.sharedMigrations + m * shape.teams + team;
      const t = m % shape.tablesPerTeam;
      const table = `${alias}_t${String(t).padStart(2, '0')}`;
      if (m < shape.tablesPerTeam) {
        pkg.add(
          minutes,
          `create_t${t}`,
          [
            `CREATE TABLE "${table}" ("id" serial PRIMARY KEY NOT NULL, "user_id" integer, "amount" integer);`,
            `ALTER TABLE "${table}" ADD CONSTRAINT "${table}_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade;`,
            `CREATE INDEX "${table}_user_id_idx" ON "${table}" USING btree ("user_id");`,
          ],
          (tables) => tables.set(table, { columns: ['id', 'user_id', 'amount'] }),
        );
      } else {
        const column = `extra${Math.floor(m / shape.tablesPerTeam)}`;
        pkg.add(minutes, `alter_t${t}`, [`ALTER TABLE "${table}" ADD COLUMN "${column}" integer;`], (tables) =>
          tables.get(table)!.columns.push(column),
        );
      }
    }
    pkg.finish({ '@bench/database': 'workspace:*' });
  }
}
