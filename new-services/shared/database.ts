import pg from 'pg';

/** The pool a deployed function opens once per container, from the DATABASE_URL Terraform gives it. */
export function poolFromEnvironment(): pg.Pool {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: the function needs the pet-store database');
  return new pg.Pool({ connectionString: url, max: 2 });
}
