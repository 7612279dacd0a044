import { functionServices } from "../adapters/services";
import { apiHandler } from "./function-url";

/**
 * The API function. Created once per Lambda instance: clients, caches and keep-alive
 * connections are reused by every invocation it serves.
 */
export const handler = apiHandler(functionServices());
