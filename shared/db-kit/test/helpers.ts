import postgres from 'postgres';

/** Every row of every table in `public`, by table, in primary-key order: a database's content to compare. */
export async function snapshotRows(url: string): Promise<Record<string, unknown[]>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const tables = await sql<{ name: string }[]>`select tablename as name from pg_tables where schemaname = 'public' order by 1`;
    const content: Record<string, unknown[]> = {};
    for (const { name } of tables) content[name] = await sql.unsafe(`select * from "${name}" order by 1`);
    return content;
  } finally {
    await sql.end();
  }
}

export async function query<T = Record<string, unknown>>(url: string, text: string): Promise<T[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return (await sql.unsafe(text)) as unknown as T[];
  } finally {
    await sql.end();
  }
}
