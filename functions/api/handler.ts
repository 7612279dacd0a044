import { primeServices } from "../../shared/services";
import { functionServices } from "../adapters/services";
import { chooseCompilerTiers, compiledWhole } from "./compiler-tiers";
import { apiHandler } from "./function-url";

// The bundle's script is compiled (whole, if entry.ts imported it so): what loads from here is not.
compiledWhole();

/**
 * The API function. Created once per Lambda instance: clients, caches and keep-alive
 * connections are reused by every invocation it serves. V8's compilers are chosen for the
 * function's share of a vCPU (compiler-tiers.ts), then what every call reads first is loaded
 * here, in the init phase (primeServices), for at most PRIME_WAIT_MS. On Lambda the entry
 * (entry.ts) imports this module's bundle.
 */
const PRIME_WAIT_MS = 1_500;
const services = functionServices();
chooseCompilerTiers(services.settings.optimisingCompiler);
await primeServices(services, PRIME_WAIT_MS);
export const handler = apiHandler(services);
