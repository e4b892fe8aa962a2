import { createHash, randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { forgetHistory, historyOf } from '../migrations/history';
import { Migrator } from '../migrations/runner';
import type { SchemaPackage, Workspace } from '../workspace';

type Sql = postgres.Sql;

/** Every template database is named `tpl_<alias>_<hash12>`. */
export const TEMPLATE_PREFIX = 'tpl_';
/** Ready-made clones of template `tpl_<alias>_<hash12>` are named `tpp_<alias>_<hash12>_<random>`. */
export const POOL_PREFIX = 'tpp_';
/**
 * Bump when what a template holds changes for reasons the migration files do not show (the runner's bookkeeping
 * columns).
 */
const TEMPLATE_FORMAT = 'db-kit-template-1';
/** `db-kit test template, ready 2026-11-24T08:00:00.000Z, root 1a2b3c4d5e6f`: when, and from which checkout. */
const READY_COMMENT = /^db-kit test template, ready (\S+), root ([0-9a-f]+)$/;

export interface TemplateKey {
  /** Database name: `tpl_teamd_3f2a9c01b4e7`. */
  name: string;
  alias: string;
  /** sha256 over the names and contents of every migration the package depends on, its own included. */
  hash: string;
  packages: SchemaPackage[];
}

/**
 * The template a package's tests clone from. Any change to a migration file of the package
 * or of a package it builds on (added, edited, renamed) gives a new name, so a stale template
 * is never used.
 */
export function templateKey(ws: Workspace, alias: string): TemplateKey {
  const pkg = ws.resolve(alias);
  const packages = ws.migrationOrder(pkg);
  const hash = createHash('sha256').update(TEMPLATE_FORMAT);
  for (const p of packages) {
    hash.update(`\0${p.name}\0${p.migrationsTable}\0`);
    // Templates outlive edits to the files (a test writes a migration, then asks for a database): read them now.
    forgetHistory(p);
    for (const file of historyOf(p).files) hash.update(`${file.tag}\0${file.hash}\0`);
  }
  const hex = hash.digest('hex');
  return { name: `${TEMPLATE_PREFIX}${pkg.alias}_${hex.slice(0, 12)}`, alias: pkg.alias, hash: hex, packages };
}

/** Session-level advisory lock key of one template's build, from its name. */
function buildLockKey(name: string): string {
  return `hashtextextended('db-kit:template:${name}', 0)`;
}

/** LIKE pattern of the pooled clones of one template. */
function poolPattern(templateName: string): string {
  return `${POOL_PREFIX}${templateName.slice(TEMPLATE_PREFIX.length)}\\_%`;
}

export interface TemplateOptions {
  /**
   * Templates of the package built from another checkout (a worktree, a test fixture) sharing
   * this server are dropped once they are this old; those of this checkout as soon as they are replaced.
   */
  otherCheckoutsStaleAfterMs?: number;
  /**
   * How many ready-made clones to keep per template (default 2; 0: none). A clone is then handed
   * out by renaming one (a catalog update) while a background session makes the next, off the
   * test's critical path: IntegreSQL's pool.
   */
  pool?: number;
  log?: (line: string) => void;
}

/**
 * Builds, finds and clones template databases on one server (the pgtestdb / IntegreSQL pattern):
 * a package's migrations run once into `tpl_<alias>_<hash>`, then every test gets a copy
 * made by `CREATE DATABASE ... TEMPLATE`, which costs a file copy instead of a migrate.
 *
 * Safe across processes: a template is built under an advisory lock and only counts as ready
 * once `datistemplate` is set, which happens after its last migration committed. A database
 * with a template's name that is not marked (a build that crashed) is dropped and rebuilt.
 *
 * @example
 *   const templates = new TemplateDatabases(adminUrl, Workspace.find());
 *   try { await templates.clone('teamd', 't_my_test_1234'); } finally { await templates.end(); }
 */
export class TemplateDatabases {
  private readonly admin: Sql;
  private strategy?: Promise<string>;

  constructor(
    private readonly adminUrl: string,
    private readonly ws: Workspace,
    private readonly options: TemplateOptions = {},
  ) {
    this.admin = postgres(adminUrl, {
      max: 1,
      onnotice: () => {},
      connection: { application_name: 'db-kit test databases' },
    });
  }

  /**
   * FILE_COPY copies the template's files after a checkpoint: the fastest clone when fsync is off
   * (the test server), but a checkpoint with fsync costs seconds, and then WAL_LOG (the default) wins.
   */
  private async cloneStrategy(): Promise<string> {
    this.strategy ??= (async () => {
      const [row] = await this.admin.unsafe(
        `select current_setting('server_version_num')::int >= 150000 as has_strategy, current_setting('fsync') = ` +
          `'off' as no_fsync`,
      );
      return row?.has_strategy && row.no_fsync ? ' strategy file_copy' : '';
    })();
    return this.strategy;
  }

  async end(): Promise<void> {
    await this.admin.end({ timeout: 0 });
  }

  /**
   * Creates `target` as a copy of the package's migrated template, building the template first if
   * needed: a pooled clone renamed when one is ready, else `CREATE DATABASE ... TEMPLATE`.
   */
  async clone(alias: string, target: string): Promise<TemplateKey> {
    for (let attempt = 1; ; attempt++) {
      const key = await this.ensure(alias);
      try {
        if (!(await this.claimPooled(key, target))) {
          await this.admin.unsafe(`create database "${target}" template "${key.name}"${await this.cloneStrategy()}`);
        }
        this.refillPool(key);
        return key;
      } catch (error) {
        const code = (error as { code?: string }).code;
        // 3D000: another run dropped it as stale just now; 55006: someone is connected to it. Both pass.
        if ((code !== '3D000' && code !== '55006') || attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  }

  /** Renames one of the template's ready-made clones to `target`; false when none is left. */
  private async claimPooled(key: TemplateKey, target: string): Promise<boolean> {
    if ((this.options.pool ?? 2) <= 0) return false;
    // A pooled clone is visible only once its CREATE DATABASE committed, so any listed one is complete.
    const pooled = await this.admin.unsafe(
      'select datname from pg_database where datname like $1 order by random() limit 4',
      [poolPattern(key.name)],
    );
    for (const { datname } of pooled) {
      try {
        await this.admin.unsafe(`alter database "${datname}" rename to "${target}"`);
        return true;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code !== '3D000' && code !== '55006') throw error; // else another worker took it first
      }
    }
    return false;
  }

  /**
   * Tops the template's pool up in the background, on a session of its own that ends when done.
   * One filler per template at a time (advisory lock); failures only mean a smaller pool.
   */
  private refillPool(key: TemplateKey): void {
    const size = this.options.pool ?? 2;
    if (size <= 0) return;
    const filler = postgres(this.adminUrl, {
      max: 1,
      onnotice: () => {},
      connection: { application_name: 'db-kit test pool' },
    });
    const lock = `hashtextextended('db-kit:pool:${key.name}', 0)`;
    void (async () => {
      const [got] = await filler.unsafe(`select pg_try_advisory_lock(${lock}) as locked`);
      if (!got?.locked) return;
      const [{ n }] = (await filler.unsafe('select count(*)::int as n from pg_database where datname like $1', [
        poolPattern(key.name),
      ])) as unknown as [{ n: number }];
      const strategy = await this.cloneStrategy().catch(() => '');
      for (let i = n; i < size; i++) {
        const name = `${POOL_PREFIX}${key.name.slice(TEMPLATE_PREFIX.length)}_${randomBytes(4).toString('hex')}`;
        await filler.unsafe(`create database "${name}" template "${key.name}"${strategy}`);
      }
    })()
      .catch(() => {})
      .finally(() => filler.end({ timeout: 0 }).catch(() => {}));
  }

  /** The ready template of the package, built now when missing. */
  async ensure(alias: string): Promise<TemplateKey> {
    const key = templateKey(this.ws, alias);
    if (await isReady(this.admin, key.name)) return key;
    const conn = await this.admin.reserve();
    try {
      await conn.unsafe(`select pg_advisory_lock(${buildLockKey(key.name)})`);
      try {
        if (await isReady(conn, key.name)) return key; // built by another worker while we waited
        await this.build(conn, key);
        await this.dropStale(conn, key);
      } finally {
        await conn.unsafe(`select pg_advisory_unlock(${buildLockKey(key.name)})`).catch(() => {});
      }
    } finally {
      conn.release();
    }
    return key;
  }

  private async build(conn: postgres.ReservedSql, key: TemplateKey): Promise<void> {
    const started = performance.now();
    await conn.unsafe(`drop database if exists "${key.name}" with (force)`); // left half-built by a crashed run
    await conn.unsafe(`create database "${key.name}"`);
    const url = new URL(this.adminUrl);
    url.pathname = `/${key.name}`;
    const sql = postgres(url.toString(), {
      max: 1,
      onnotice: () => {},
      connection: { application_name: 'db-kit test template' },
    });
    try {
      await new Migrator(sql, key.packages, this.ws.packages).migrate();
    } finally {
      await sql.end({ timeout: 0 });
    }
    await conn.unsafe(
      `comment on database "${key.name}" is 'db-kit test template, ready ${new Date().toISOString()}, root ` +
        `${this.checkout}'`,
    );
    // Last: from here on other workers clone it.
    await conn.unsafe(`alter database "${key.name}" with is_template true`);
    this.options.log?.(`[db-kit] built test template ${key.name} in ${(performance.now() - started).toFixed(0)} ms`);
  }

  /** Short hash of the workspace root: templates remember which checkout built them. */
  private get checkout(): string {
    return createHash('sha256').update(this.ws.root).digest('hex').slice(0, 12);
  }

  /**
   * Drops the package's replaced templates: this checkout's at once, other checkouts' once old
   * (they may be in use by a run there), and leftovers of crashed builds nobody holds.
   */
  private async dropStale(conn: postgres.ReservedSql, keep: TemplateKey): Promise<void> {
    const staleAfterMs = this.options.otherCheckoutsStaleAfterMs ?? 7 * 24 * 3600_000;
    const rows = await conn.unsafe(
      `select d.datname as name, d.datistemplate as ready, shobj_description(d.oid, 'pg_database') as comment
         from pg_database d where d.datname like $1 and d.datname <> $2`,
      [`${TEMPLATE_PREFIX}${keep.alias}\\_%`, keep.name],
    );
    for (const row of rows) {
      // another alias sharing our prefix
      if (!new RegExp(`^${TEMPLATE_PREFIX}${keep.alias}_[0-9a-f]{12}$`).test(row.name)) continue;
      if (row.ready) {
        const [, readyAt, checkout] = READY_COMMENT.exec(row.comment ?? '') ?? [];
        const age = Date.now() - Date.parse(readyAt ?? '');
        if (checkout !== this.checkout && age <= staleAfterMs) continue; // an unreadable comment counts as old
        await dropTemplate(conn, row.name);
        continue;
      }
      const [free] = await conn.unsafe(`select pg_try_advisory_lock(${buildLockKey(row.name)}) as locked`);
      if (!free?.locked) continue; // being built right now by another run
      try {
        await conn.unsafe(`drop database if exists "${row.name}" with (force)`);
      } finally {
        await conn.unsafe(`select pg_advisory_unlock(${buildLockKey(row.name)})`);
      }
    }
    // Pooled clones whose template is gone (a filler finished after the template was dropped).
    const names = new Set((await conn.unsafe('select datname from pg_database')).map((r) => r.datname as string));
    for (const name of names) {
      const pooled = new RegExp(`^${POOL_PREFIX}(${keep.alias}_[0-9a-f]{12})_[0-9a-f]{8}$`).exec(name);
      if (pooled && !names.has(`${TEMPLATE_PREFIX}${pooled[1]}`))
        await conn.unsafe(`drop database if exists "${name}" with (force)`);
    }
  }
}

async function isReady(sql: Sql | postgres.ReservedSql, name: string): Promise<boolean> {
  const [row] = await sql.unsafe('select datistemplate from pg_database where datname = $1', [name]);
  return Boolean(row?.datistemplate);
}

/** Drops a template database and its pooled clones (Postgres refuses to drop a database still marked as a template). */
export async function dropTemplate(sql: Sql | postgres.ReservedSql, name: string): Promise<void> {
  await sql.unsafe(`alter database "${name}" with is_template false`).catch(() => {});
  await sql.unsafe(`drop database if exists "${name}" with (force)`);
  for (const { datname } of await sql.unsafe('select datname from pg_database where datname like $1', [
    poolPattern(name),
  ])) {
    await sql.unsafe(`drop database if exists "${datname}" with (force)`);
  }
}

/** Names of the template databases on the server, optionally of one package. */
export async function listTemplates(sql: Sql, alias?: string): Promise<string[]> {
  const rows = await sql.unsafe('select datname from pg_database where datname like $1 order by 1', [
    `${TEMPLATE_PREFIX}${alias ? `${alias}\\_` : ''}%`,
  ]);
  return rows.map((r) => r.datname as string);
}
