// Every command group of the CLI, each module loaded only when its command runs.
import type { Group } from './main.js';

/** Each command group's module, loaded only when its command runs (the bundle is split per
 *  group, so `probe` does not parse the catalog, the rules or the lab). */
export const GROUPS: readonly Group[] = [
  { commands: ['probe'], load: async () => (await import('./probe.js')).registerProbe },
  { commands: ['show'], load: async () => (await import('./show.js')).registerShow },
  { commands: ['catalog', 'explain', 'get'], load: async () => (await import('./catalog.js')).registerCatalog },
  { commands: ['audit', 'rules'], load: async () => (await import('./audit.js')).registerAudit },
  { commands: ['lint'], load: async () => (await import('./lint.js')).registerLint },
  { commands: ['plan', 'profiles', 'diff'], load: async () => (await import('./plan.js')).registerPlan },
  { commands: ['apply', 'history', 'show-tx'], load: async () => (await import('./apply.js')).registerApply },
  { commands: ['confirm', 'rollback', 'recover', '__watchdog', '__boot-check'], load: async () => (await import('./state.js')).registerState },
  { commands: ['lab'], load: async () => (await import('./lab.js')).registerLab },
  { commands: ['bench', '__rr-server', '__rr-client', '__connect-burst'], load: async () => (await import('./bench.js')).registerBench },
  { commands: ['experiment'], load: async () => (await import('./experiment.js')).registerExperiment },
  { commands: ['top'], load: async () => (await import('./top.js')).registerTop },
  { commands: ['fleet'], load: async () => (await import('./fleet.js')).registerFleet },
  { commands: ['export'], load: async () => (await import('./export.js')).registerExport },
  { commands: ['sockets'], load: async () => (await import('./sockets.js')).registerSockets },
  { commands: ['dashboard'], load: async () => (await import('./dashboard.js')).registerDashboard },
  { commands: ['exporter'], load: async () => (await import('./exporter.js')).registerExporter },
];
