import { defineInsTable, type InsTable } from '../dispatch.js';

export const FILE_MANAGEMENT_COMMANDS: InsTable = defineInsTable();
