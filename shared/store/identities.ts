import { IDENTITY_OF_USER, identityKey, userIdentityKey, userKey, userPartition } from "./keys";
import { ConditionFailed, type Table, type TransactOp } from "./table";
import { sessionVersionIs } from "./users";

/** An outside sign-in linked to a user: the provider's immutable subject, and a name to show. */
export interface LinkedIdentity {
  provider: string;
  subject: string;
  login: string;
  /** Unix seconds. */
  at: number;
}

/**
 * Outside sign-ins (GitHub, LinuxDO, OIDC) linked to users. `IDENTITY#<provider>#<subject>`
 * finds the user, and `USER#<id> / IDENTITY#<provider>` lists the user's (one per provider);
 * both are written in one transaction, each conditional on being new, so an identity is
 * linked to one user only, however many link it at once.
 */
export class Identities {
  constructor(private readonly table: Table) {}

  /** The user this identity is linked to. */
  async userOf(provider: string, subject: string): Promise<string | undefined> {
    return (await this.table.get<{ userId: string }>(identityKey(provider, subject), true))?.userId;
  }

  /**
   * Links the identity to `userId`: `linked`, `own` (linked to them already), `taken` (to
   * another user), or `provider_linked` (they have another account of this provider). With
   * `ifSessionVersion` (a link the signed-in user asked for), only while the user is enabled
   * and at that session version: `stale` once a password change, reset or sign-out everywhere
   * has landed since they proved who they are.
   */
  async link(
    userId: string,
    identity: LinkedIdentity,
    ifSessionVersion?: number,
  ): Promise<"linked" | "own" | "taken" | "provider_linked" | "stale"> {
    const { provider, subject } = identity;
    const stillThem: TransactOp[] =
      ifSessionVersion === undefined
        ? []
        : [
            {
              check: userKey(userId),
              condition: `#status = :enabled AND ${sessionVersionIs(ifSessionVersion)}`,
              names: { "#status": "status" },
              values: { ":enabled": "enabled", ":version": ifSessionVersion },
            },
          ];
    try {
      await this.table.transact([
        ...stillThem,
        {
          put: { ...identityKey(provider, subject), userId, at: identity.at },
          condition: "attribute_not_exists(pk)",
        },
        {
          put: { ...userIdentityKey(userId, provider), ...identity },
          condition: "attribute_not_exists(pk)",
        },
      ]);
      return "linked";
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
      if (stillThem.length && err.reasons[0] === "ConditionalCheckFailed") return "stale";
      const owner = await this.userOf(provider, subject);
      if (owner === userId) return "own";
      return owner ? "taken" : "provider_linked";
    }
  }

  /** The user's linked identities. */
  async list(userId: string): Promise<LinkedIdentity[]> {
    const items = await this.table.queryAll<LinkedIdentity & { sk: string }>({
      keyCondition: "pk = :pk AND begins_with(sk, :prefix)",
      values: { ":pk": userPartition(userId), ":prefix": IDENTITY_OF_USER },
      consistent: true,
    });
    return items.map(({ provider, subject, login, at }) => ({ provider, subject, login, at }));
  }

  /** Unlinks the user's identity of this provider; false when there was none. */
  async unlink(userId: string, provider: string): Promise<boolean> {
    const linked = await this.table.get<LinkedIdentity>(userIdentityKey(userId, provider), true);
    if (!linked) return false;
    try {
      await this.table.transact([
        { delete: userIdentityKey(userId, provider), condition: "attribute_exists(pk)" },
        {
          delete: identityKey(provider, linked.subject),
          condition: "userId = :user",
          values: { ":user": userId },
        },
      ]);
      return true;
    } catch (err) {
      if (err instanceof ConditionFailed) return false;
      throw err;
    }
  }
}
