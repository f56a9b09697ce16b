// Types of scripts/gen-client.mjs, for the client's drift test.
/** The absolute path of packages/client/src/schema.ts. */
export declare const SCHEMA_FILE: string;
/** The text of schema.ts for an OpenAPI document. */
export declare function renderSchema(document: unknown): Promise<string>;
/** The OpenAPI document of the coordinator in this tree (its build). */
export declare function currentDocument(): Promise<unknown>;
