import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDotenv, redact } from '../../src/env';
import { findDatabaseUrl, parseDatabaseTarget } from '../../src/target';

const root = mkdtempSync(join(tmpdir(), 'db-kit-target-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const parse = (url: string, env: NodeJS.ProcessEnv = {}) => parseDatabaseTarget(url, { env });

describe('the database target, parsed once', () => {
  it('keeps host, port, database and a redacted form', () => {
    const target = parse('postgresql://app:S3cret@db.internal:6543/orders');
    expect(target).toMatchObject({ host: 'db.internal', port: 6543, database: 'orders', local: false });
    expect(target.redacted).toContain('db.internal:6543/orders');
    expect(target.redacted).not.toContain('S3cret');
    expect(JSON.stringify({ ...target, url: undefined })).not.toContain('S3cret');
  });

  it('defaults the port to 5432 and the database to the user name, as libpq does', () => {
    expect(parse('postgresql://alice@localhost')).toMatchObject({ port: 5432, database: 'alice', local: true });
  });

  it('counts localhost, 127.0.0.1, ::1 and a Unix socket as local', () => {
    expect(parse('postgresql://u@127.0.0.1/db').local).toBe(true);
    expect(parse('postgresql://u@[::1]:5433/db').local).toBe(true);
    expect(parse('postgresql://u@localhost/db').local).toBe(true);
    expect(parse('postgresql:///db?host=/var/run/postgresql').local).toBe(true);
  });

  it('judges a host= query parameter, not the host part it overrides', () => {
    expect(parse('postgresql://u@localhost/db?host=db.prod.internal').local).toBe(false);
  });

  it('follows DB_KIT_LOCAL_HOSTS, and "none" makes every host remote', () => {
    expect(parse('postgresql://u@devvm.team/db', { DB_KIT_LOCAL_HOSTS: 'devvm.team' }).local).toBe(true);
    expect(parse('postgresql://u@127.0.0.1/db', { DB_KIT_LOCAL_HOSTS: 'none' }).local).toBe(false);
  });

  it('rejects a string that is no URL, without printing its password', () => {
    expect(() => parse('postgresql://u:Pw-123@[nope/db')).toThrow(/DATABASE_URL .* is not/);
    try {
      parse('postgresql://u:Pw-123@[nope/db');
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('Pw-123');
    }
  });
});

describe('DATABASE_URL lookup', () => {
  it('takes the environment over .env, and says where it came from', () => {
    writeFileSync(join(root, '.env'), 'DATABASE_URL=postgresql://u@localhost/from_file\n');
    expect(findDatabaseUrl(root, {})).toEqual({ url: 'postgresql://u@localhost/from_file', source: '.env' });
    expect(findDatabaseUrl(root, { DATABASE_URL: 'postgresql://u@localhost/env' })).toEqual({
      url: 'postgresql://u@localhost/env',
      source: 'environment',
    });
    rmSync(join(root, '.env'));
    expect(findDatabaseUrl(root, {})).toBeUndefined();
  });

  it('reads dotenv lines: export, quotes, comments', () => {
    expect(parseDotenv('# c\nexport A=1\nB="two words"\nC=3 # trailing\n\nbad line')).toEqual({
      A: '1',
      B: 'two words',
      C: '3',
    });
  });
});

describe('redaction', () => {
  it('hides the password of every connection string and password= parameter', () => {
    expect(redact('a postgres://u:p@h/db and postgresql://x:y@z:1/w')).toBe(
      'a postgres://u:***@h/db and postgresql://x:***@z:1/w',
    );
    expect(redact('host=h password=secret user=u')).toBe('host=h password=*** user=u');
    expect(redact('postgresql://nopassword@h/db')).toBe('postgresql://nopassword@h/db');
  });
});
