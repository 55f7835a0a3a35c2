/** Who may act: staff roles (JWT groups) and the scopes a merchant API key can carry. */
export type StaffRole = 'admin' | 'support' | 'finance' | 'ops';
export type MerchantScope = 'cards:read' | 'cards:issue' | 'cards:transact';

export const STAFF_ROLES: readonly StaffRole[] = ['admin', 'support', 'finance', 'ops'];
export const MERCHANT_SCOPES: readonly MerchantScope[] = ['cards:read', 'cards:issue', 'cards:transact'];
