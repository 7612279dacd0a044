import { createDispatcher, type Dispatch } from "./http/dispatch";
import type { Route } from "./http/route";
import { createChatCompletion } from "./openai/chat-completions";
import { listModels, retrieveModel } from "./openai/models";
import type { Services } from "./services";

/** Every route sluice serves over HTTP. */
export const routes: readonly Route[] = [listModels, retrieveModel, createChatCompletion];

/** The whole HTTP API as one function: request in, response out. */
export function createApi(services: Services): Dispatch {
  return createDispatcher(routes, services);
}
