// Makes a test's own database unreachable while the shared PostgreSQL server keeps serving every
// other test: new connections are refused (ALLOW_CONNECTIONS false) and the open ones terminated.
import pg from 'pg';

export interface DatabaseLockout {
  /** The locked database's name. */
  readonly database: string;
  /** Refuses new connections to the database and terminates the open ones. */
  lock(): Promise<void>;
  /** Lets connections in again. */
  unlock(): Promise<void>;
  /** Unlocks (whatever happened) and closes the admin connection: call it in afterAll. */
  close(): Promise<void>;
}

/** An admin connection (to the `postgres` database of the same server) that can lock `databaseUrl` out. */
export async function databaseLockout(databaseUrl: string): Promise<DatabaseLockout> {
  const url = new URL(databaseUrl);
  const database = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  const unlock = async () => {
    await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`);
  };
  return {
    database,
    async lock() {
      await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS false`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [database]);
    },
    unlock,
    async close() {
      await unlock().catch(() => undefined);
      await admin.end();
    },
  };
}
