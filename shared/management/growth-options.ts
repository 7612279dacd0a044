import {
  changedCheckin,
  changedInvite,
  checkinView,
  inviteView,
  readGrowthOptions,
} from "../growth/options";
import { readJsonObject } from "../http/body";
import { userRoute } from "../http/route";
import { invalid, ok, requireAdmin } from "./envelope";

/**
 * GET /api/option/growth (admin): the `checkin` and `invite` sections. Interim: they join the
 * site settings' sections (/api/option) once those exist.
 */
export const getGrowthOptions = userRoute("GET", "/api/option/growth", async (call) => {
  requireAdmin(call);
  const options = await readGrowthOptions(call.services, true);
  return ok({ checkin: checkinView(options.checkin), invite: inviteView(options.invite) });
});

/**
 * PUT /api/option/growth (admin) `{checkin?: {...}, invite?: {...}}`: sets the fields sent of
 * each section sent, checked together before either is saved.
 */
export const putGrowthOptions = userRoute("PUT", "/api/option/growth", async (call) => {
  requireAdmin(call);
  const { services } = call;
  const body = readJsonObject(call.request);
  const current = await readGrowthOptions(services, true);
  const section = (name: string) => {
    const value = body[name];
    if (value === undefined) return undefined;
    if (!value || typeof value !== "object" || Array.isArray(value))
      throw invalid(`${name} must be an object.`);
    return value as Record<string, unknown>;
  };
  const checkinBody = section("checkin");
  const inviteBody = section("invite");
  const checkin = checkinBody && changedCheckin(current.checkin, checkinBody);
  const invite = inviteBody && changedInvite(current.invite, inviteBody);
  if (checkin) await services.growthOptions.save("checkin", { ...checkin });
  if (invite) await services.growthOptions.save("invite", { ...invite });
  const saved = await readGrowthOptions(services, true);
  return ok({ checkin: checkinView(saved.checkin), invite: inviteView(saved.invite) });
});
