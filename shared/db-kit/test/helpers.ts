import { copyWorkspace, type FixtureWorkspace } from '../src/testing';
import postgres from 'postgres';

/** Every row of every table in `public`, by table, in primary-key order: a database's content to compare. */
export async function snapshotRows(url: string): Promise<Record<string, unknown[]>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const tables = await sql<
      { name: string }[]
    >`select tablename as name from pg_tables where schemaname = 'public' order by 1`;
    const content: Record<string, unknown[]> = {};
    for (const { name } of tables) content[name] = await sql.unsafe(`select * from "${name}" order by 1`);
    return content;
  } finally {
    await sql.end();
  }
}

/** Runs one query (several, without params) on `url` with a short-lived connection and returns its rows. */
export async function query<T = Record<string, unknown>>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return (await sql.unsafe(text, params as never[])) as unknown as T[];
  } finally {
    await sql.end({ timeout: 0 });
  }
}

export async function columnsOf(url: string, table: string): Promise<string[]> {
  const rows = await query<{ column_name: string }>(
    url,
    `select column_name from information_schema.columns where table_schema = 'public' and table_name = $1 order by ordinal_position`,
    [table],
  );
  return rows.map((r) => r.column_name);
}

export async function tableExists(url: string, name: string): Promise<boolean> {
  const [row] = await query<{ t: string | null }>(url, 'select to_regclass($1)::text as t', [name]);
  return row?.t != null;
}

export const SHARED = 'shared/database';
export const TEAMD = 'teams/teamD/src/database';

/**
 * The packages the engine's tests are written against: shared and Team D. Whatever other teams
 * the workspace holds stay out of every scratch copy, so adding one cannot turn this suite red.
 */
export const FIXTURE_PACKAGES = ['shared/database', TEAMD];

/** A scratch copy of the workspace with the fixture packages only (see `copyWorkspace`). */
export function fixtureWorkspace(): FixtureWorkspace {
  return copyWorkspace({ packages: FIXTURE_PACKAGES });
}
