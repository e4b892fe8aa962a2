/** SQL text we build ourselves (names of our own objects, tags, hashes); user values go as parameters. */

/** `it's` -> `'it''s'` */
export function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** `large_event_db` -> `"large_event_db"`; `public.users` stays one identifier unless split by the caller. */
export function quoteIdent(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}
