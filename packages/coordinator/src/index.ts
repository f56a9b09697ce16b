export { startCoordinator, type CoordinatorHandle } from './coordinator.js';
export { coordinatorSettings, compileCoordinatorOptions, type CoordinatorOptions } from './options.js';
export { migrateToLatest, migrateDown, migrationStatus, migrationsDir } from './store/migrator.js';
export { openDatabase, describeDatabaseUrl, ensureDatabaseExists, type Db } from './store/db.js';
export { openApiDocument, type OpenApiDocument } from './api/openapi.js';
