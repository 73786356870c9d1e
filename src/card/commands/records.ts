import { defineInsTable, type InsTable } from '../dispatch.js';

export const RECORD_COMMANDS: InsTable = defineInsTable();
