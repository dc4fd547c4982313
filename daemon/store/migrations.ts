/**
 * Schema migrations, applied in order, each in its own transaction, recorded in `schema_migrations`.
 * Never edit a migration that has shipped: add the next one. Times are milliseconds since the epoch.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'inventory, devices, audit events, settings',
    sql: `
      CREATE TABLE computers (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        guid TEXT UNIQUE,
        profile TEXT NOT NULL,
        kind TEXT CHECK (kind IN ('required', 'available')),
        notes TEXT NOT NULL DEFAULT '',
        source_computer TEXT,
        boot_once_consumed_at INTEGER,
        boot_once_consumed_by TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      -- One row per NIC: a MAC belongs to at most one computer.
      CREATE TABLE computer_macs (
        mac TEXT PRIMARY KEY,
        computer_id INTEGER NOT NULL REFERENCES computers(id) ON DELETE CASCADE,
        position INTEGER NOT NULL
      );
      CREATE INDEX computer_macs_by_computer ON computer_macs(computer_id);
      -- Unknown devices seen under policy.unknown.action = pending, and the ones an admin rejected.
      CREATE TABLE devices (
        mac TEXT PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN ('pending', 'rejected')),
        guid TEXT,
        arch TEXT,
        arch_code INTEGER,
        vendor_class TEXT,
        ip TEXT,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        decided_at INTEGER,
        decided_by TEXT
      );
      CREATE INDEX devices_by_status ON devices(status, first_seen);
      CREATE TABLE audit_events (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        type TEXT NOT NULL,
        mac TEXT,
        door TEXT,
        decision TEXT,
        reason TEXT,
        profile TEXT,
        computer TEXT,
        ip TEXT,
        arch TEXT,
        actor TEXT,
        detail TEXT
      );
      CREATE INDEX audit_by_time ON audit_events(at);
      CREATE INDEX audit_by_mac ON audit_events(mac, at);
      -- Run-time switches that override the config file (answering, responseDelaySeconds, interfaces).
      CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'password hashes and attempt lockouts (daemon/features/password)',
    sql: `
      -- scope 'global' or 'profile:<name>'; only scrypt hashes (PHC strings), never a password.
      CREATE TABLE password_hashes (
        scope TEXT PRIMARY KEY,
        hash TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        updated_by TEXT NOT NULL
      );
      -- Wrong passwords per client key ('mac:<mac>' or 'ip:<ip>') and the lockout they led to.
      CREATE TABLE password_failures (
        key TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        first_at INTEGER NOT NULL,
        last_at INTEGER NOT NULL,
        locked_until INTEGER
      );
    `,
  },
  {
    version: 3,
    name: 'rollout members, admissions, results, halts (daemon/features/rollout)',
    // Until this release the rollout tables carried their own versions in \`rollout_schema\`. The same
    // tables, created only where missing, adopt such a database without touching its rows.
    sql: `
      -- A computer's place in rollouts: its group (role), criticality rank, and a window of its own.
      CREATE TABLE IF NOT EXISTS rollout_members (
        computer TEXT PRIMARY KEY COLLATE NOCASE,
        grp TEXT NOT NULL,
        criticality INTEGER,
        maint_window TEXT,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS rollout_admissions (
        profile TEXT NOT NULL,
        computer TEXT NOT NULL COLLATE NOCASE,
        grp TEXT NOT NULL,
        -- The local calendar date (YYYY-MM-DD, in the rollout's time zone) the computer was admitted on:
        -- a date, not a day index, so moving the start date never moves what already happened.
        admitted_on TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (profile, computer)
      );
      CREATE TABLE IF NOT EXISTS rollout_results (
        id INTEGER PRIMARY KEY,
        profile TEXT NOT NULL,
        computer TEXT NOT NULL COLLATE NOCASE,
        grp TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
        at INTEGER NOT NULL,
        detail TEXT,
        actor TEXT
      );
      CREATE INDEX IF NOT EXISTS rollout_results_by_computer ON rollout_results(profile, computer, at);
      -- One row per halt; resumed_at set when an admin resumes the group.
      CREATE TABLE IF NOT EXISTS rollout_halts (
        id INTEGER PRIMARY KEY,
        profile TEXT NOT NULL,
        grp TEXT NOT NULL,
        halted_at INTEGER NOT NULL,
        halted_by TEXT NOT NULL,
        reason TEXT NOT NULL,
        resumed_at INTEGER,
        resumed_by TEXT
      );
      CREATE INDEX IF NOT EXISTS rollout_halts_by_group ON rollout_halts(profile, grp, halted_at);
      DROP TABLE IF EXISTS rollout_schema;
    `,
  },
  {
    version: 4,
    name: 'Secure Boot machines (daemon/features/secureboot)',
    sql: `
      -- Machines given the profiles' Secure Boot chain: marked by an admin, or noticed when their
      -- firmware refused an unsigned program (source 'refusal', with why and which file).
      CREATE TABLE secure_boot_clients (
        mac TEXT PRIMARY KEY,
        source TEXT NOT NULL CHECK (source IN ('admin', 'refusal')),
        reason TEXT,
        file TEXT,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL
      );
    `,
  },
];
