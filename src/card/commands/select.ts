import { defineInsTable, type InsTable } from '../dispatch.js';

export const SELECT_COMMANDS: InsTable = defineInsTable();
