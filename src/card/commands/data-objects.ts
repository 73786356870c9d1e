import { defineInsTable, type InsTable } from '../dispatch.js';

export const DATA_OBJECT_COMMANDS: InsTable = defineInsTable();
