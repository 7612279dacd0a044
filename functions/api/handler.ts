import { createApi } from "../../shared/api";
import { functionServices } from "../adapters/services";
import { streamingHandler } from "./function-url";

/**
 * The API function. Created once per Lambda instance: clients, caches and keep-alive
 * connections are reused by every invocation it serves.
 */
const services = functionServices();
export const handler = streamingHandler(createApi(services), services.settings.edge);
