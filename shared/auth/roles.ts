/**
 * What an API token may do (docs/security.md, "Roles"). Roles are fixed sets of permissions, and
 * every operators' API route names the one permission it needs, so the matrix is read in one place.
 * - viewer: status, usage, the usage report;
 * - operator: a viewer who may also wake and put to sleep;
 * - admin: an operator who may also change settings and submit jobs;
 * - jobs: submit jobs only (an integration's token), nothing else.
 */
export const ROLES = ['viewer', 'operator', 'admin', 'jobs'] as const;
export type Role = (typeof ROLES)[number];

export type Permission = 'read' | 'steer' | 'configure' | 'submit-jobs';

const GRANTS: Record<Role, readonly Permission[]> = {
  viewer: ['read'],
  operator: ['read', 'steer'],
  admin: ['read', 'steer', 'configure', 'submit-jobs'],
  jobs: ['submit-jobs'],
};

/** Tokens created before roles existed carry none: they keep the power they had (docs/security.md). */
export const LEGACY_ROLE: Role = 'admin';

export const isRole = (value: unknown): value is Role =>
  typeof value === 'string' && (ROLES as readonly string[]).includes(value);

export const allows = (role: Role, permission: Permission): boolean => GRANTS[role].includes(permission);

/** The roles that hold a permission, for error messages ("needs operator or admin"). */
export const rolesWith = (permission: Permission): Role[] => ROLES.filter((r) => allows(r, permission));
