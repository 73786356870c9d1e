import { defineInsTable, type InsTable } from '../dispatch.js';

export const BINARY_COMMANDS: InsTable = defineInsTable();
