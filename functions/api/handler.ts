import { primeServices } from "../../shared/services";
import { functionServices } from "../adapters/services";
import { chooseCompilerTiers } from "./compiler-tiers";
import { apiHandler } from "./function-url";

/**
 * The API function. Created once per Lambda instance: clients, caches and keep-alive
 * connections are reused by every invocation it serves. What every call reads first is
 * loaded here, in the init phase (primeServices), for at most PRIME_WAIT_MS. V8's compilers
 * are chosen for the function's share of a vCPU first (compiler-tiers.ts).
 */
const PRIME_WAIT_MS = 1_500;
chooseCompilerTiers();
const services = functionServices();
await primeServices(services, PRIME_WAIT_MS);
export const handler = apiHandler(services);
