/** `sluice bootstrap`: the first admin of a deployed stack, written to its table directly. */
import { CredentialTags } from "../../../shared/auth/tags";
import { createAdmin } from "../../../shared/bootstrap";
import { loadSettings } from "../../../shared/config/settings";
import { sdkTransport } from "../../../shared/store/dynamo-transport";
import { Table } from "../../../shared/store/table";
import { loadTagSecret } from "../../../shared/store/tag-secret";
import { Users } from "../../../shared/store/users";
import { UsageError } from "../args";
import type { Commands } from "../command";

export const bootstrap: Commands = {
  bootstrap: {
    summary: "the first admin of a deployed stack, with your AWS credentials",
    usage: "sluice bootstrap --table TABLE [--region R] [--name admin]",
    options: { table: { type: "string" }, region: { type: "string" }, name: { type: "string" } },
    maxArgs: 0,
    run: async (ctx) => {
      const tableName = ctx.string("table");
      if (!tableName)
        throw new UsageError("bootstrap needs --table (the stack's TableName output).");
      const region = ctx.string("region");
      // Only this command reads DynamoDB: the SDK is loaded for it alone (the others start faster).
      const { DynamoDBClient } = await import("@aws-sdk/client-dynamodb");
      const client = new DynamoDBClient(region ? { region } : {});
      const table = new Table(sdkTransport(client), tableName);
      const users = new Users(table);
      // The token carries a check tag under the table's secret, made here if this is the first use.
      const tags = new CredentialTags(() => loadTagSecret(table));
      // The password is hashed at the default cost (SLUICE_PASSWORD_COST only lowers it for tests).
      const { user, accessToken, password } = await createAdmin(
        { users, tags, settings: loadSettings({}) },
        ctx.string("name") ?? "admin",
      );
      if (ctx.options.json) {
        ctx.print({
          id: user.id,
          name: user.name,
          username: user.username,
          password,
          access_token: accessToken,
        });
        return;
      }
      ctx.line(
        [
          `Created admin ${user.name} (${user.id}).`,
          `Console sign-in (shown once): username ${user.username}, password ${password}`,
          `Access token (shown once): ${accessToken}`,
        ].join("\n"),
      );
    },
  },
};
