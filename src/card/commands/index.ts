/**
 * The card OS's frozen INS table: every interindustry command, one module per ISO command family.
 */
import { mergeInsTables, type InsTable } from '../dispatch.js';
import { SELECT_COMMANDS } from './select.js';
import { BINARY_COMMANDS } from './binary.js';
import { RECORD_COMMANDS } from './records.js';
import { PIN_COMMANDS } from './pin.js';
import { AUTHENTICATION_COMMANDS } from './authenticate.js';
import { DATA_OBJECT_COMMANDS } from './data-objects.js';
import { FILE_MANAGEMENT_COMMANDS } from './file-management.js';
import { CHANNEL_COMMANDS } from './channel.js';

export const OS_COMMANDS: InsTable = mergeInsTables(
  SELECT_COMMANDS,
  BINARY_COMMANDS,
  RECORD_COMMANDS,
  PIN_COMMANDS,
  AUTHENTICATION_COMMANDS,
  DATA_OBJECT_COMMANDS,
  FILE_MANAGEMENT_COMMANDS,
  CHANNEL_COMMANDS,
);
