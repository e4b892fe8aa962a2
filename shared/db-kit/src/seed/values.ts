import type { PgColumn } from 'drizzle-orm/pg-core';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { DbKitError } from '../errors';
import type { SchemaPackage } from '../workspace';
import { importDependency } from '../dependencies';

/** drizzle-seed's generator functions (`f.email()`, `f.valuesFromArray({ values })`, ...). */
export type SeedFunctions = Awaited<ReturnType<typeof seedFunctions>>;

/** One column's refinement: a drizzle-seed generator, or the values to choose from. */
export type Refinement = { generate(params: { i: number }): unknown } | ReadonlyArray<unknown>;

/** A package's refinements, by table name, then column name. */
export type Refinements = Map<string, Record<string, Refinement>>;

/** Gives row `i`'s value; `row` holds the columns generated before it (an `ends_at` reads `starts_at`). */
export type ColumnValues = (i: number, row?: Record<string, unknown>) => unknown;

interface Generator {
  isUnique: boolean;
  init(params: { count: number; seed: number }): void;
  generate(params: { i: number }): unknown;
  replaceIfUnique?(): Generator | undefined;
}

export async function seedFunctions() {
  const { getGeneratorsFunctions } = await importDependency<typeof import('drizzle-seed')>('drizzle-seed');
  return getGeneratorsFunctions();
}

let refinementLoads = 0;

/**
 * A package's own refinements: the module named by `dbKit.seed.refinements`, whose default export
 * takes drizzle-seed's functions and returns generators by table and column:
 *
 *   export default (f) => ({ teamd_projects: { name: f.valuesFromArray({ values: ['Apollo', 'Gemini'] }) } });
 *
 * A plain array is accepted for a column too: its values are used in turn.
 */
export async function loadRefinements(packages: SchemaPackage[], functions: SeedFunctions): Promise<Refinements> {
  const refinements: Refinements = new Map();
  for (const pkg of packages) {
    const file = pkg.seed?.refinements;
    if (!file) continue;
    const { register } = await importDependency<typeof import('tsx/esm/api')>('tsx/esm/api');
    // A namespace per load, as loadSchemas does: a second seed in one process sees an edited file.
    const tsx = register({ namespace: `db-kit-seed-${process.pid}-${++refinementLoads}` });
    try {
      const module = (await tsx.import(pathToFileURL(join(pkg.dir, file)).href, import.meta.url)) as {
        default?: (f: SeedFunctions) => Record<string, Record<string, Refinement>>;
      };
      if (typeof module.default !== 'function')
        throw new Error('its default export must be a function (f) => ({ table: { column: generator } })');
      for (const [table, columns] of Object.entries(module.default(functions)))
        refinements.set(table, { ...refinements.get(table), ...columns });
    } catch (error) {
      throw new DbKitError(
        `Cannot read the seed refinements of ${pkg.name} (${file}): ` +
          `${error instanceof Error ? error.message.split('\n')[0] : error}`,
        `Fix "dbKit.seed.refinements" in ${pkg.name}'s package.json or that file, then seed again.`,
      );
    } finally {
      await tsx.unregister();
    }
  }
  return refinements;
}

interface Context {
  functions: SeedFunctions;
  count: number;
  seed: number;
  refinements: Record<string, Refinement>;
}

interface PlanLike {
  name: string;
  columns: PgColumn[];
  unique: Set<string>;
  primaryKey: string[];
}

const DAY = 86_400_000;
const SEED_EPOCH = Date.UTC(2026, 0, 1);
const END_NAMES = /^(ends?|finish(es|ed)?|closes?|expires?|valid_until|until|ended|closed|finished|due)(_at|_on)?$/;
const STARTS = [
  'starts_at',
  'start_at',
  'started_at',
  'begins_at',
  'opens_at',
  'valid_from',
  'starts_on',
  'start_on',
  'issued_at',
  'issued_on',
];

/** The values of one column: a package's refinement, else what the column's name and type suggest. */
export function generatorFor(column: PgColumn, plan: PlanLike, ctx: Context): ColumnValues {
  const refinement = ctx.refinements[column.name];
  const unique = plan.unique.has(column.name) || (plan.primaryKey.length > 1 && plan.primaryKey.includes(column.name));
  const next = rng(hash(`${plan.name}.${column.name}`) ^ ctx.seed);
  if (refinement) return fromRefinement(refinement, ctx);
  const type = column.getSQLType().toLowerCase();
  const name = column.name.toLowerCase();
  const length = (column as PgColumn & { length?: number }).length;
  const fit = (value: string) => (length && value.length > length ? value.slice(0, length) : value);
  const enumValues = column.enumValues?.length ? column.enumValues : undefined;

  if (type.endsWith('[]')) {
    const base = (column as PgColumn & { baseColumn?: PgColumn }).baseColumn;
    const choices = base?.enumValues?.length ? base.enumValues : ['alpha', 'beta', 'gamma', 'delta'];
    return () => choices.filter(() => next() < 0.4);
  }
  if (enumValues) {
    if (unique) return (i) => enumValues[i % enumValues.length];
    return () => enumValues[Math.floor(next() * enumValues.length)];
  }
  if (type === 'uuid') return drizzleSeed(ctx.functions.uuid(), ctx, true);
  if (type.startsWith('timestamp') || type === 'date') {
    const asDate =
      type === 'date' ? (ms: number) => new Date(ms).toISOString().slice(0, 10) : (ms: number) => new Date(ms);
    if (/^(deleted|archived|cancelled|canceled|revoked)_at$/.test(name) && !column.notNull) return () => null;
    const start = END_NAMES.test(name) ? plan.columns.find((c) => STARTS.includes(c.name))?.name : undefined;
    return (i, row) => {
      const from = start ? row?.[start] : undefined;
      if (from !== undefined && from !== null) {
        const base = from instanceof Date ? from.getTime() : Date.parse(String(from));
        return asDate(base + (type === 'date' ? DAY : 3_600_000) * (1 + Math.floor(next() * 4)));
      }
      const day = unique ? i : Math.floor(next() * 365);
      return asDate(SEED_EPOCH + day * DAY + Math.floor(next() * 12) * 3_600_000);
    };
  }
  if (type === 'boolean') return () => next() < 0.5;
  if (/^(smallint|integer|bigint|int2|int4|int8)$/.test(type)) {
    const max = type === 'smallint' ? 100 : 1000;
    if (unique) return (i) => i + 1;
    return () => 1 + Math.floor(next() * max);
  }
  if (type.startsWith('numeric') || type.startsWith('decimal') || type === 'real' || type === 'double precision') {
    const [, precision, scale = '2'] = /\((\d+)(?:,\s*(\d+))?\)/.exec(type) ?? [];
    const digits = Number(scale);
    // Within the type (numeric(4,3) holds less than 10), and a percentage within 0..100.
    const room = precision ? 10 ** (Number(precision) - digits) - 10 ** -digits : 1000;
    const max = Math.min(room, /percent|pct|ratio|share/.test(name) ? 100 : 1000);
    if (unique) return (i) => Math.min(i + 1, room).toFixed(digits);
    return () => (next() * max).toFixed(digits);
  }
  if (type === 'json' || type === 'jsonb') return drizzleSeed(ctx.functions.json(), ctx, false);
  if (type === 'inet' || type === 'cidr')
    return (i) => `10.${(i >> 8) & 255}.${i & 255}.${1 + Math.floor(next() * 250)}`;
  if (!/^(text|character varying|varchar|character|char)/.test(type)) {
    // A type we know nothing about (tsvector, a custom type): null where allowed, else PostgreSQL says why.
    return () => (column.notNull ? undefined : null);
  }
  // A text column's literal default is a value the application writes (a role 'user', a state 'new').
  if (typeof column.default === 'string' && !unique) return () => fit(column.default as string);
  if (length !== undefined && length < 4 && !unique) return (i) => fit(['EUR', 'USD', 'GBP'][i % 3]!);
  if (unique && length !== undefined && length <= 8) return (i) => letters(i, length);
  const text = textFor(name, plan.name, ctx, unique);
  if (unique && !text.unique) {
    // The row number survives the column's length: shorten the text, never the suffix.
    return (i) => {
      const suffix = `-${i + 1}`;
      const base = String(text.make(i));
      return `${length ? base.slice(0, Math.max(0, length - suffix.length)) : base}${suffix}`;
    };
  }
  return (i) => fit(String(text.make(i)));
}

function fromRefinement(refinement: Refinement, ctx: Context): ColumnValues {
  if (Array.isArray(refinement)) return (i) => refinement[i % refinement.length];
  return drizzleSeed(refinement as unknown as Generator, ctx, false);
}

function drizzleSeed(generator: Generator, ctx: Context, unique: boolean): ColumnValues {
  const chosen = (unique && generator.replaceIfUnique?.()) || generator;
  if (unique) chosen.isUnique = true;
  chosen.init({ count: ctx.count, seed: ctx.seed });
  return (i) => chosen.generate({ i });
}

/** Text that reads like what the column holds, from its name (and its table's, for `name`). */
function textFor(
  column: string,
  table: string,
  ctx: Context,
  unique: boolean,
): { make: (i: number) => unknown; unique: boolean } {
  const f = ctx.functions;
  const seeded = (generator: Generator, isUnique = false) => ({
    make: drizzleSeed(generator, ctx, isUnique && unique),
    unique: isUnique,
  });
  const person = /user|customer|attendee|member|person|people|contact|profile|staff|holder|author/.test(table);
  if (/email/.test(column)) return seeded(f.email(), true);
  if (/^(full_name|display_name|holder_name|contact_name|author_name)$/.test(column) || (column === 'name' && person))
    return seeded(f.fullName());
  if (/first_name/.test(column)) return seeded(f.firstName());
  if (/last_name|surname/.test(column)) return seeded(f.lastName());
  if (/phone/.test(column)) return seeded(f.phoneNumber());
  if (/city/.test(column)) return seeded(f.city());
  if (/country/.test(column)) return seeded(f.country());
  if (/street|address/.test(column)) return seeded(f.streetAddress());
  if (/postcode|postal|zip/.test(column)) return seeded(f.postcode());
  if (/job|position/.test(column)) return seeded(f.jobTitle());
  if (/^(url|website|link|homepage|endpoint)$|_url$/.test(column))
    return { make: (i) => `https://example.com/${table}/${i + 1}`, unique: true };
  if (/currency/.test(column)) return { make: (i) => ['EUR', 'USD', 'GBP'][i % 3], unique: false };
  if (/timezone|time_zone/.test(column))
    return { make: (i) => ['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Tokyo'][i % 4], unique: false };
  if (/^(locale|language|lang)$/.test(column)) return { make: (i) => ['en', 'fr', 'de', 'es'][i % 4], unique: false };
  if (/slug/.test(column)) return { make: (i) => `${table.replace(/_/g, '-')}-${i + 1}`, unique: true };
  if (/(^|_)(code|barcode|reference|token|number|sku|key|iban|bic)$/.test(column))
    return { make: (i) => `${column.slice(0, 3).toUpperCase()}${String(i + 1).padStart(5, '0')}`, unique: true };
  if (/^(description|summary|note|notes|body|bio|comment|content|message|details)$/.test(column))
    return seeded(f.loremIpsum({ sentencesCount: 1 }));
  if (/name|title|label/.test(column)) return seeded(f.companyName());
  if (/secret|hash|digest|password/.test(column))
    return { make: (i) => `${(hash(`${table}${i}`) >>> 0).toString(16).padStart(8, '0')}`, unique: false };
  return seeded(f.loremIpsum({ sentencesCount: 1 }));
}

/** Row `i` as a fixed-width code of capital letters: AAA, AAB, ... (distinct for 26^width rows). */
function letters(i: number, width: number): string {
  let out = '';
  for (let n = i, k = 0; k < width; k++, n = Math.floor(n / 26)) out = String.fromCharCode(65 + (n % 26)) + out;
  return out;
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

export function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
