/** Who may do what (DESIGN §9): viewers read, operators change what machines get, admins also manage tokens and read the audit. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export const roleAllows = (have: Role, need: Role): boolean => RANK[have] >= RANK[need];

/** Who made a request: a token's name, `local` (loopback under REEF_API_AUTH=local) or `anonymous` (REEF_API_AUTH=none). */
export interface Principal {
  name: string;
  role: Role;
  via: 'token' | 'local' | 'none';
}
