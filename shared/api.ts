import { countMessageTokens } from "./anthropic/count-tokens";
import { createMessage } from "./anthropic/messages";
import { createDispatcher, type Dispatch } from "./http/dispatch";
import type { Route } from "./http/route";
import * as accessTokens from "./management/access-tokens";
import * as account from "./management/account";
import * as apiKeys from "./management/api-keys";
import * as channels from "./management/channels";
import * as checkin from "./management/checkin";
import * as invitations from "./management/invitations";
import * as locks from "./management/locks";
import * as logs from "./management/logs";
import * as notices from "./management/notices";
import * as oauth from "./management/oauth";
import * as passwordReset from "./management/password-reset";
import * as payments from "./management/payments";
import * as pricing from "./management/pricing";
import { importPricing } from "./management/pricing-import";
import * as publicPricing from "./management/public-pricing";
import * as redemptions from "./management/redemptions";
import * as site from "./management/site";
import * as siteContent from "./management/site-content";
import * as user from "./management/user";
import * as verification from "./management/verification";
import { createSpeech } from "./openai/audio-speech";
import { createTranscription, createTranslation } from "./openai/audio-transcriptions";
import * as batches from "./openai/batches";
import { createChatCompletion } from "./openai/chat-completions";
import { createCompletion } from "./openai/completions";
import * as billing from "./openai/dashboard-billing";
import { createEdit } from "./openai/edits";
import { createEmbedding } from "./openai/embeddings";
import * as files from "./openai/files-api";
import { createImage } from "./openai/images";
import { listModels, retrieveModel } from "./openai/models";
import { createModeration } from "./openai/moderations";
import * as uploads from "./openai/uploads";
import { countResponseInputTokens } from "./responses/input-tokens";
import { createResponse, upgradeResponses } from "./responses/responses";
import * as storedResponses from "./responses/stored-routes";
import type { Services } from "./services";
import { consoleAsset, consoleIndex } from "./web/console";

/** Every route sluice serves over HTTP. */
export const routes: readonly Route[] = [
  // OpenAI API, with sk- keys
  listModels,
  retrieveModel,
  createChatCompletion,
  createCompletion,
  createEmbedding,
  createEdit,
  createImage,
  createTranscription,
  createTranslation,
  createSpeech,
  createModeration,
  files.createFile,
  files.listFiles,
  files.retrieveFile,
  files.deleteFile,
  files.retrieveFileContent,
  uploads.createUpload,
  uploads.addUploadPart,
  uploads.completeUpload,
  uploads.cancelUpload,
  batches.createBatch,
  batches.listBatches,
  batches.retrieveBatch,
  batches.cancelBatch,
  billing.getBillingSubscription,
  billing.getBillingSubscriptionShort,
  billing.getBillingUsage,
  billing.getBillingUsageShort,
  // Anthropic's Messages API, with the same sk- keys
  createMessage,
  countMessageTokens,
  // OpenAI's Responses API (Codex), with the same sk- keys
  createResponse,
  countResponseInputTokens,
  upgradeResponses,
  storedResponses.retrieveResponse,
  storedResponses.deleteResponse,
  storedResponses.cancelResponse,
  storedResponses.listInputItems,
  // Management API, with system access tokens or a console session
  site.getStatus,
  account.register,
  account.login,
  account.logout,
  account.getSelf,
  account.updateSelf,
  account.redeem,
  site.getOptions,
  site.putOptions,
  site.listSections,
  site.getSection,
  site.putSection,
  site.putLogo,
  site.deleteLogo,
  site.getLogo,
  siteContent.getContent,
  siteContent.putContent,
  siteContent.getHomePage,
  siteContent.getAbout,
  siteContent.getNotice,
  // b-site: the models page
  publicPricing.getPublicPricing,
  locks.listLocks,
  locks.clearLock,
  redemptions.createRedemptions,
  redemptions.listRedemptions,
  redemptions.updateRedemption,
  redemptions.deleteRedemption,
  // Named access tokens (issue 22, stream D)
  accessTokens.regenerateAccessToken,
  accessTokens.listAccessTokens,
  accessTokens.createAccessToken,
  accessTokens.revokeAccessToken,
  accessTokens.issueAccessToken,
  oauth.startOAuth,
  oauth.oauthCallback,
  oauth.listIdentities,
  oauth.unlinkIdentity,
  user.getStat,
  user.listUsers,
  user.createUser,
  user.getUser,
  user.updateUser,
  user.updateUserByBody,
  user.topUpUser,
  user.revokeUserCredentials,
  user.approveTrial,
  // f-cli: one-api's soft delete of a user
  user.deleteUser,
  apiKeys.listTokens,
  apiKeys.createToken,
  apiKeys.getToken,
  apiKeys.updateToken,
  apiKeys.updateTokenByBody,
  apiKeys.deleteToken,
  channels.listChannels,
  channels.createChannel,
  channels.getChannel,
  channels.updateChannel,
  channels.updateChannelByBody,
  channels.deleteChannel,
  channels.testChannel,
  pricing.getPricing,
  pricing.putPricing,
  pricing.patchPricing,
  importPricing,
  logs.listOwnLogs,
  logs.getOwnLogStat,
  logs.listAllLogs,
  logs.getAllLogStat,
  logs.getOwnUsage,
  // Payments (stream c-pay)
  payments.getPaymentOptions,
  payments.createEpayOrder,
  payments.epayNotifyGet,
  payments.epayNotifyPost,
  payments.epayReturn,
  payments.createStripeOrder,
  payments.stripeWebhook,
  payments.listOwnOrders,
  payments.getOwnOrder,
  payments.listAllOrders,
  payments.getAnyOrder,
  payments.noteOrder,
  // stream E (growth): check-in, invitations
  checkin.postCheckin,
  checkin.getCheckins,
  invitations.getAffCode,
  invitations.getInvitations,
  // Stream e-mail (issue 22 E): verification codes, password reset
  verification.askVerificationCode,
  verification.postVerificationCode,
  verification.askEmailCode,
  verification.setEmail,
  passwordReset.askPasswordReset,
  passwordReset.postPasswordReset,
  passwordReset.resetPassword,
  notices.setLowBalanceAlert,
  // The console's page and files
  consoleIndex,
  consoleAsset,
];

/** The whole HTTP API as one function: request in, response out. */
export function createApi(services: Services): Dispatch {
  return createDispatcher(routes, services);
}
