import { defineInsTable, type InsTable } from '../dispatch.js';

export const PIN_COMMANDS: InsTable = defineInsTable();
